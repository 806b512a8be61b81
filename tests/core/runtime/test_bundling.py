"""Call sizing: how many tasks go into one actor call (pure)."""

from __future__ import annotations

from cosmos_curate.core.runtime.bundling import BundlePolicy


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
