"""Per-stage counters and speed measurements (pure)."""

from __future__ import annotations

import pytest

from cosmos_curate.core.runtime.stats import StageStats, UsageTally


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


def test_usage_tally_gives_time_weighted_mean_and_peak() -> None:
    """1 core for 10 s then 3 cores for 10 s: mean 2 cores, peak 3; memory likewise."""
    tally = UsageTally()
    assert tally.means(5.0) == (0.0, 0)
    tally.observe(0.0, 100.0, 100)
    tally.observe(10.0, 300.0, 300)
    cpu, rss = tally.means(20.0)
    assert cpu == pytest.approx(200.0)
    assert rss == 200
    assert (tally.peak_cpu_percent, tally.peak_rss_bytes) == (300.0, 300)
