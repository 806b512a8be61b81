"""docs/OBSERVABILITY.md's metrics table names every metric the runtime exports."""

from __future__ import annotations

from pathlib import Path

from cosmos_curate.core.runtime.metric_table import DRIVER_METRICS, GPU_ALLOC

ROOT = Path(__file__).resolve().parents[2]


def test_every_exported_metric_is_in_the_table() -> None:
    """A user reading the table finds each `ray_pipeline_*` series the runtime exports."""
    exported = {d.exported for d in [*DRIVER_METRICS.values(), GPU_ALLOC]}
    assert len(exported) > 30
    doc = (ROOT / "docs" / "OBSERVABILITY.md").read_text(encoding="utf-8")
    missing = sorted(name for name in exported if f"`{name}`" not in doc)
    assert missing == []
