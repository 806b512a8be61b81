"""Per-stage counters and speed measurements (pure)."""

from __future__ import annotations

from cosmos_curate.core.runtime.stats import StageStats


def test_call_overhead_ignores_gaps_where_the_worker_waited_for_work() -> None:
    stats = StageStats()
    for gap in [0.001] * 12 + [3.0] * 3:  # three calls where the worker sat idle
        stats.record_call(
            tasks_in=1,
            tasks_out=1,
            failed=0,
            process_seconds=0.02,
            deserialize_seconds=0.0,
            deserialize_bytes=10,
            gap_seconds=gap,
        )
    assert stats.call_overhead_s is not None
    assert 0.0009 < stats.call_overhead_s < 0.0011
