"""Call sizing and splitting: pure pieces of the engine that decide how tasks travel."""

from __future__ import annotations

from cosmos_curate.core.runtime.bundling import BundlePolicy
from cosmos_curate.core.runtime.queues import Chunk
from cosmos_curate.core.runtime.stats import StageStats
from cosmos_curate.core.runtime.wire import dumps, loads


def test_calls_grow_until_the_per_call_overhead_is_a_small_share() -> None:
    """A 2 ms gap between calls on 20 ms tasks: calls long enough that workers idle <1%."""
    policy = BundlePolicy()
    unknown = policy.desired_tasks_per_call(0.020, 1)
    measured = policy.desired_tasks_per_call(0.020, 1, overhead_s=0.002)
    assert unknown == 2  # 50 ms calls until the overhead is known
    assert measured * 0.020 >= 0.002 / 0.01  # the gap is at most 1% of a call
    assert measured * 0.020 <= policy.max_call_seconds


def test_slow_tasks_stay_one_per_call_whatever_the_overhead() -> None:
    assert BundlePolicy().desired_tasks_per_call(2.0, 1, overhead_s=0.002) == 1
    assert BundlePolicy().desired_tasks_per_call(2.0, 4, overhead_s=0.002) == 4


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


def test_a_split_chunk_shares_its_data_and_keeps_every_task_once() -> None:
    chunk = Chunk(dumps(list(range(10))), 10, frozenset({3}), start=0)
    head, rest = chunk.split(4)
    assert head.data is rest.data is chunk.data
    assert (head.n_tasks, rest.n_tasks) == (4, 6)
    tasks = [loads(c.data)[slice(*c.span)] for c in (head, *rest.split(5))]
    assert tasks == [[0, 1, 2, 3], [4, 5, 6, 7, 8], [9]]
    assert head.origins == rest.origins == frozenset({3})
