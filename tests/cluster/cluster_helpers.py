"""Helpers of the multi-node tests: the CLI and `driver.py` run in subprocesses.

The pytest process may hold its own Ray connection (the session `ray_cluster` fixture), so
everything that talks to these clusters runs in a subprocess.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import psutil
from tests.support import curate, free_port

from cosmos_curate.cluster.processes import running_processes
from cosmos_curate.cluster.state import ClusterState, NodeRecord, ProcessRecord

__all__ = ["curate", "free_port"]  # re-exported: the cluster tests import them from here

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DRIVER = HERE / "driver.py"
NODE_CPUS = 2


def recorded_state(temp_dir: str) -> ClusterState:
    """A one-node cluster record, as a state file holds it, with `temp_dir` as its temp folder
    (no process of it runs: for the tests of the state file itself)."""
    proc = ProcessRecord(pid=1, create_time=2.0, name="raylet")
    node = NodeRecord("head", "127.0.0.2", 9002, 1.0, 0.0, proc, (proc,), "/tmp/x.log")
    return ClusterState("127.0.0.2:6379", None, temp_dir, "token", None, None, 3.0, (node,))


def base_env(**extra: str) -> dict[str, str]:
    """This environment without Ray settings aimed at other clusters, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_ADDRESS", "RAY_AUTH"))}
    env["RAY_DEDUP_LOGS"] = "0"
    env.update(extra)
    return env


def start_cluster(
    state_file: Path, env: dict[str, str], *, workers: int, auth: str, cwd: Path | None = None
) -> ClusterState:
    """`curate cluster start` with small nodes and free ports; returns the recorded state.

    The nodes' workers run in `cwd` (default: this process's working folder).
    """
    result = curate(
        "cluster", "start", "--workers", str(workers), "--num-cpus", str(NODE_CPUS),
        "--memory-gb", "1", "--object-store-mb", "200", "--port", "0", "--metrics-port", "0",
        "--client-port", "0", "--auth", auth, "--state-file", str(state_file),
        env=env, timeout=600, cwd=cwd,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    return ClusterState.load(state_file)


def stop_cluster(state_file: Path, env: dict[str, str]) -> None:
    """`curate cluster stop`; then nothing of the cluster may still run."""
    state = ClusterState.load(state_file)
    recorded = state.all_records()
    result = curate("cluster", "stop", "--state-file", str(state_file), env=env, timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    assert not running_processes(state)
    assert all(r.live() is None for r in recorded)


@attrs.frozen
class Loopback:
    """A running one-node loopback cluster and the environment of a driver that joins it."""

    state: ClusterState
    env: dict[str, str]
    weights_dir: Path
    workdir: Path


@contextlib.contextmanager
def loopback(folder: Path) -> Iterator[Loopback]:
    """One Ray node on 127.0.0.1 (`curate cluster start`, `NODE_CPUS` CPUs, auth off).

    Drivers run with `.env` join it through `RAY_ADDRESS` and ship no code: the node's
    workers import this checkout from its `PYTHONPATH`. Drivers and workers share one
    weights folder (`.weights_dir`); the workers run in `.workdir` (empty at the start), so
    relative paths mean the same to them only for a driver run there. Both are under
    `folder`. Stopped by PID when the block ends.
    """
    code = os.pathsep.join([str(ROOT), str(ROOT / "src")])
    weights, workdir = folder / "weights", folder / "work"
    workdir.mkdir()
    env = base_env(PYTHONPATH=code, RAY_AUTH_MODE="disabled", CURATE_WEIGHTS_DIR=str(weights))
    state_file = folder / "state.json"
    state = start_cluster(state_file, env, workers=0, auth="disabled", cwd=workdir)
    joined = {**env, "RAY_ADDRESS": state.address, "CURATE_SHIP_CODE": "none"}
    try:
        yield Loopback(state, joined, weights, workdir)
    finally:
        stop_cluster(state_file, env)


def run_driver(
    address: str,
    out_dir: Path,
    env: dict[str, str],
    *,
    tasks: int,
    per_node: int | None = None,
    sleep_s: float = 0.0,
    timeout: float = 600,
) -> dict[str, Any]:
    """Run `driver.py` to completion; returns its JSON result (asserts it succeeded)."""
    proc = start_driver(address, out_dir, env, tasks=tasks, per_node=per_node, sleep_s=sleep_s)
    _, stderr = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, stderr[-4000:]
    return load_result(out_dir)


def start_driver(
    address: str,
    out_dir: Path,
    env: dict[str, str],
    *,
    tasks: int,
    per_node: int | None = None,
    sleep_s: float = 0.0,
) -> subprocess.Popen[str]:
    """Start `driver.py` in the background (cwd: this folder, so workers import its stages)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        sys.executable, str(DRIVER), str(out_dir / "result.json"), "--address", address,
        "--tasks", str(tasks), "--record-dir", str(out_dir / "records"),
        "--sleep", str(sleep_s), "--progress", str(out_dir / "progress"),
    ]  # fmt: skip
    if per_node is not None:
        args += ["--per-node", str(per_node)]
    return subprocess.Popen(
        args, cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def load_result(out_dir: Path) -> dict[str, Any]:
    """The driver's result file."""
    result: dict[str, Any] = json.loads((out_dir / "result.json").read_text())
    return result


def progress(out_dir: Path) -> int:
    """Outputs the running driver has reported so far."""
    try:
        return int((out_dir / "progress").read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def records(out_dir: Path, kind: str) -> list[tuple[str, str, int, dict[str, Any]]]:
    """(stage, node id, pid, info) of each `setup` or `node` record the stages wrote."""
    found = []
    for path in sorted((out_dir / "records").glob(f"{kind}-*.json")):
        _, stage, node, pid = path.stem.split("-")
        found.append((stage, node, int(pid), json.loads(path.read_text())))
    return found


def metric_lines(ip: str, port: int, prefix: str) -> list[str]:
    """Lines of a node's Prometheus export whose metric name starts with `prefix`."""
    try:
        with urllib.request.urlopen(f"http://{ip}:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return []
    return [line for line in text.splitlines() if line.startswith(prefix)]


def wait_for(predicate: Any, timeout: float, interval: float = 0.5) -> bool:
    """Poll `predicate` until true or `timeout` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID runs (zombies count as gone)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
