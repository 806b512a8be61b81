"""A worker node killed mid-run (its raylet, by PID): every task still comes out exactly once."""

from __future__ import annotations

import collections
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cluster.cluster_helpers import (
    load_result,
    pid_alive,
    progress,
    start_cluster,
    start_driver,
    stop_cluster,
    wait_for,
)

from cosmos_curate.cluster.state import ClusterState

pytestmark = pytest.mark.integration

TASKS = 2500


@pytest.fixture
def doomed_cluster(tmp_path: Path, token_env: dict[str, str]) -> Iterator[ClusterState]:
    """Its own head + 2 workers: this test kills one of them."""
    state_file = tmp_path / "state.json"
    state = start_cluster(state_file, token_env, workers=2, auth="token")
    try:
        yield state
    finally:
        stop_cluster(state_file, token_env)


def test_node_killed_mid_run_every_task_exactly_once(
    doomed_cluster: ClusterState, token_env: dict[str, str], tmp_path: Path
) -> None:
    """2,500 tasks through 2 stages on 3 nodes; SIGKILL a worker node's raylet once ~15% of
    the outputs are out. The run finishes with each input id exactly once and no failure."""
    victim = doomed_cluster.workers[-1].find("raylet")
    assert victim is not None and victim.live() is not None
    out = tmp_path / "run"
    driver = start_driver(doomed_cluster.address, out, token_env, tasks=TASKS, sleep_s=0.01)
    try:
        started = wait_for(
            lambda: progress(out) >= TASKS * 0.15 or driver.poll() is not None, timeout=420
        )
        assert started and driver.poll() is None, "the run ended before the node could be killed"
        os.kill(victim.pid, signal.SIGKILL)
        assert wait_for(lambda: not pid_alive(victim.pid), timeout=10)
        _, stderr = driver.communicate(timeout=540)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode == 0, stderr[-6000:]
    result = load_result(out)
    counts = collections.Counter(item_id for item_id, _ in result["outputs"])
    duplicates = {i: n for i, n in counts.items() if n > 1}
    missing = set(range(TASKS)) - set(counts)
    print(f"node kill: in={TASKS} out={sum(counts.values())} duplicates={len(duplicates)} "
          f"missing={len(missing)} failures={result['num_failures']}")  # fmt: skip
    assert not duplicates
    assert not missing
    assert result["num_failures"] == 0
