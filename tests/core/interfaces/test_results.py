"""Records a run hands back: failure records on disk, progress records (pure)."""

from __future__ import annotations

import pickle
from pathlib import Path

from cosmos_curate.core.interfaces.results import (
    MAX_TASK_REPR,
    FailureRecord,
    PipelineProgress,
    read_failure_records,
    short_repr,
)


def test_failure_records_round_trip_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    """A crash mid-write leaves a half line: the reader keeps every complete record."""
    records = [
        FailureRecord(stage="s", error=f"E: {i}", traceback="tb", attempts=1, task_repr="t")
        for i in range(2)
    ]
    path = tmp_path / "failures.jsonl"
    text = "".join(r.to_json() + "\n" for r in records)
    path.write_text(text + records[0].to_json()[:20], encoding="utf-8")
    assert read_failure_records(path) == records


def test_task_repr_is_cut_and_never_raises() -> None:
    """A huge or broken task still gives a readable record."""

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert short_repr(Broken()).startswith("<unrepresentable Broken: no repr")
    assert len(short_repr("x" * (MAX_TASK_REPR * 2))) < MAX_TASK_REPR + 20


def test_progress_has_no_eta_before_the_input_is_read_and_pickles() -> None:
    """ETA appears only once the amount of input is known; records cross processes."""
    progress = PipelineProgress(
        stages=(), elapsed_s=1.0, inputs_read=5, input_exhausted=False, outputs=0, failures=0
    )
    assert progress.eta_s is None
    assert pickle.loads(pickle.dumps(progress)) == progress
