"""Finding and stopping a loopback cluster's processes, by recorded PID and start time."""

from __future__ import annotations

import contextlib
import signal

import psutil

from cosmos_curate.cluster.errors import LoopbackClusterError
from cosmos_curate.cluster.state import ClusterState, ProcessRecord


def descendants(proc: psutil.Process) -> list[psutil.Process]:
    """Live children of `proc`, recursively (empty if it is gone)."""
    try:
        return [c for c in proc.children(recursive=True) if c.is_running()]
    except psutil.Error:
        return []


def processes_under(temp_dir: str) -> list[psutil.Process]:
    """Processes whose command line names `temp_dir`, the cluster's own unique Ray temp dir.

    Ray worker processes are started by a raylet after `start`; when a raylet dies first
    they are re-parented, and this finds them. The folder is unique to one cluster, so no
    other cluster's process can match.
    """
    marker = temp_dir.rstrip("/") + "/"
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if any(marker in arg or arg.endswith("=" + temp_dir) for arg in cmdline):
            found.append(proc)
    return found


def running_processes(state: ClusterState) -> list[psutil.Process]:
    """Processes of the cluster still alive: recorded ones, their children, its Ray workers."""
    procs: dict[int, psutil.Process] = {}
    for record in state.all_records():
        proc = record.live()
        if proc is not None:
            procs[proc.pid] = proc
            procs.update((c.pid, c) for c in descendants(proc))
    procs.update((p.pid, p) for p in processes_under(state.temp_dir))
    return [p for p in procs.values() if _alive(p)]


def terminate(records: list[ProcessRecord], temp_dir: str, *, timeout_s: float = 20.0) -> list[int]:
    """Stop `records`' processes, their children and the cluster's Ray workers; their PIDs.

    SIGTERM to the recorded processes first (a node's `ray start --block` stops its own
    children in order), then SIGTERM and finally SIGKILL to whatever is left. Raises
    `LoopbackClusterError` if something survives SIGKILL.
    """
    procs: dict[int, psutil.Process] = {}
    for record in records:
        proc = record.live()
        if proc is not None:
            procs[proc.pid] = proc
            procs.update((c.pid, c) for c in descendants(proc))
    procs.update((p.pid, p) for p in processes_under(temp_dir))
    targets = [p for p in procs.values() if _alive(p)]
    stopped = sorted(p.pid for p in targets)
    launchers = {r.pid for r in records}
    # The launchers first: `ray start --block` stops its node's processes in order.
    _signal([p for p in targets if p.pid in launchers], signal.SIGTERM)
    _, alive = psutil.wait_procs(targets, timeout=timeout_s / 2)
    _signal(alive, signal.SIGTERM)
    _, alive = psutil.wait_procs(alive, timeout=timeout_s / 4)
    _signal(alive, signal.SIGKILL)
    _, alive = psutil.wait_procs(alive, timeout=timeout_s / 4)
    if alive:
        pids = ", ".join(str(p.pid) for p in alive)
        msg = f"processes still running after SIGKILL: {pids}"
        raise LoopbackClusterError(msg)
    return stopped


def _signal(procs: list[psutil.Process], sig: signal.Signals) -> None:
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(sig)


def _alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


__all__ = ["descendants", "processes_under", "running_processes", "terminate"]
