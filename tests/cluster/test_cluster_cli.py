"""`curate cluster start|status|stop`: nodes and jobs shown, and nothing left running."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cluster.cluster_helpers import (
    NODE_CPUS,
    base_env,
    pid_alive,
    recorded_state,
    start_cluster,
    start_driver,
    wait_for,
)
from tests.support import curate, curate_in_process

from cosmos_curate.cluster.processes import running_processes
from cosmos_curate.cluster.state import ClusterState

pytestmark = pytest.mark.integration


def _status(state_file: Path, env: dict[str, str]) -> dict[str, object]:
    result = curate("cluster", "status", "--json", "--state-file", str(state_file), env=env)
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_start_status_stop_leaves_no_process(tmp_path: Path) -> None:
    """Start a head + 1 worker (auth off), see both nodes and a running pipeline in status,
    then stop: every PID recorded at start, and every Ray worker spawned since, is gone."""
    env = base_env(RAY_AUTH_MODE="disabled")
    state_file = tmp_path / "state.json"
    state = start_cluster(state_file, env, workers=1, auth="disabled")
    assert [n.ip for n in state.nodes] == ["127.0.0.1", "127.0.0.1"]  # loopback only
    assert all(n.find("raylet") is not None for n in state.nodes)
    driver = None
    try:
        status = _status(state_file, env)
        nodes = status["nodes"]
        assert isinstance(nodes, list) and len(nodes) == 2
        assert all(n["alive"] and n["cpus"] == NODE_CPUS for n in nodes)
        assert sum(n["is_head"] for n in nodes) == 1
        assert all(n["memory_bytes"] == 1 << 30 for n in nodes)

        driver = start_driver(state.address, tmp_path / "run", env, tasks=400, sleep_s=0.2)

        def driver_listed() -> bool:
            jobs = _status(state_file, env)["jobs"]
            return any(j["driver_pid"] == driver.pid for j in jobs)  # type: ignore[union-attr]

        assert wait_for(driver_listed, timeout=180, interval=3.0)
        pids_during_run = {p.pid for p in running_processes(state)}
    except BaseException:
        curate("cluster", "stop", "--state-file", str(state_file), env=env)  # leave nothing
        raise
    finally:
        if driver is not None:
            driver.kill()
            driver.wait()
    result = curate("cluster", "stop", "--state-file", str(state_file), env=env)
    assert result.returncode == 0, result.stderr
    assert not state_file.exists()
    recorded = {r.pid for r in state.all_records()}
    assert recorded <= pids_during_run
    assert not [pid for pid in pids_during_run | recorded if pid_alive(pid)]
    assert not running_processes(state)
    assert not Path(state.temp_dir).exists()


def test_stop_without_cluster_says_so(tmp_path: Path) -> None:
    """`stop` with no recorded cluster: one line naming the state file, exit 2 (in process)."""
    result = curate_in_process("cluster", "stop", "--state-file", str(tmp_path / "none.json"))
    assert result.returncode == 2  # rejected before anything started
    assert "no loopback cluster recorded" in result.stderr


def test_state_file_json_round_trip(tmp_path: Path) -> None:
    """The state file reads back to an equal ClusterState (what `stop` relies on)."""
    state = recorded_state("/tmp/curate-ray-t")
    state.save(tmp_path / "s.json")
    assert ClusterState.load(tmp_path / "s.json") == state
