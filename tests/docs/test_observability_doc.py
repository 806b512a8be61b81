"""docs/OBSERVABILITY.md's metrics table names every metric the runtime exports."""

from __future__ import annotations

import re
from pathlib import Path

from cosmos_curate.core.runtime import metrics

ROOT = Path(__file__).resolve().parents[2]


def test_every_exported_metric_is_in_the_table() -> None:
    """A user reading the table finds each `ray_pipeline_*` series the driver exports."""
    source = Path(metrics.__file__).read_text(encoding="utf-8")
    exported = set(re.findall(r'"(pipeline_[a-z_]+)"', source))
    doc = (ROOT / "docs" / "OBSERVABILITY.md").read_text(encoding="utf-8")
    missing = sorted(name for name in exported if f"`ray_{name}" not in doc)
    assert missing == []
