"""benchmarks/README.md lists every benchmark script the folder holds."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_benchmark_script_is_listed() -> None:
    """A reader of the README finds every runnable script (helpers start with `_`)."""
    text = (ROOT / "benchmarks" / "README.md").read_text()
    folder = ROOT / "benchmarks"
    scripts = sorted(p.name for p in folder.glob("*.py") if not p.name.startswith("_"))
    missing = [name for name in scripts if f"benchmarks/{name}" not in text]
    assert missing == []
