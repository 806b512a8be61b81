"""The loopback cluster's state file: its addresses and every process it started, by PID.

A PID alone could be reused by an unrelated process after ours exited, so each record
keeps the process's start time too; only a process whose PID *and* start time match is
ever signalled.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs
import psutil

from cosmos_curate.cluster.errors import LoopbackClusterError
from cosmos_curate.core.storage import publishing
from cosmos_curate.core.utils import settings

STATE_VAR = settings.CLUSTER_STATE_VAR
TEMP_PARENT = "/tmp"  # short: Ray's socket paths live under the temp folder
TEMP_PREFIX = "curate-ray-"
"""`curate cluster start` makes each cluster's Ray temp folder as TEMP_PARENT/TEMP_PREFIX*."""


def check_temp_dir(temp_dir: str, source: Path) -> None:
    """Pass if `temp_dir` has the shape `curate cluster start` gives its folders.

    Else `LoopbackClusterError`: `stop` kills the processes that name the folder and deletes
    it, so a state file naming any other path (`/`, `/tmp`, a home folder) is refused.
    """
    path = Path(temp_dir)
    made_by_start = (
        path.is_absolute()
        and str(path) == temp_dir.rstrip("/")
        and path.parent == Path(TEMP_PARENT)
        and path.name.startswith(TEMP_PREFIX)
        and len(path.name) > len(TEMP_PREFIX)
    )
    if not made_by_start:
        msg = (
            f"the cluster state file {source} names {temp_dir!r} as the cluster's Ray temp "
            f"folder, which `curate cluster start` never makes ({TEMP_PARENT}/{TEMP_PREFIX}*); "
            "nothing was stopped or deleted: check the file, or remove it if no cluster of "
            "yours runs"
        )
        raise LoopbackClusterError(msg)


def default_state_file() -> Path:
    """`$CURATE_CLUSTER_STATE`, else `<user cache>/cosmos_curate/cluster/state.json`."""
    return settings.cluster_state_file()


@attrs.frozen
class ProcessRecord:
    """One process: PID, start time (to tell it from a later process with the same PID), name."""

    pid: int
    create_time: float
    name: str

    @classmethod
    def of(cls, proc: psutil.Process) -> ProcessRecord:
        """Record a live process."""
        return cls(pid=proc.pid, create_time=proc.create_time(), name=proc.name())

    def live(self) -> psutil.Process | None:
        """The process if it still runs (same PID and start time), else None."""
        try:
            proc = psutil.Process(self.pid)
            if abs(proc.create_time() - self.create_time) > 0.01:
                return None
            return None if proc.status() == psutil.STATUS_ZOMBIE else proc
        except psutil.Error:
            return None


@attrs.frozen
class NodeRecord:
    """One Ray node of the loopback cluster: its `ray start --block` launcher and children."""

    role: str  # "head" or "worker"
    ip: str
    metrics_port: int
    num_cpus: float
    num_gpus: float
    launcher: ProcessRecord
    processes: tuple[ProcessRecord, ...]
    log_path: str

    def find(self, name: str) -> ProcessRecord | None:
        """The recorded process called `name` (e.g. "raylet"), if any."""
        return next((p for p in self.processes if p.name == name), None)


@attrs.frozen
class ClusterState:
    """What `curate cluster start` wrote: enough to reach the cluster and stop it."""

    address: str
    client_address: str | None
    temp_dir: str
    auth_mode: str
    token_path: str | None
    dashboard_url: str | None
    started_at: float
    nodes: tuple[NodeRecord, ...]

    @property
    def head(self) -> NodeRecord:
        """The head node's record."""
        return next(n for n in self.nodes if n.role == "head")

    @property
    def workers(self) -> tuple[NodeRecord, ...]:
        """The extra worker nodes, in start order."""
        return tuple(n for n in self.nodes if n.role != "head")

    def all_records(self) -> list[ProcessRecord]:
        """Every recorded process, launchers included."""
        return [r for n in self.nodes for r in (n.launcher, *n.processes)]

    def save(self, path: Path) -> None:
        """Publish durably (`core.storage`), readable by this user only."""
        with publishing(path, "w") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(json.dumps(attrs.asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> ClusterState:
        """Read a state file; `LoopbackClusterError` if missing or unreadable."""
        try:
            raw: dict[str, Any] = json.loads(path.read_text())
            nodes = tuple(
                NodeRecord(
                    **{
                        **n,
                        "launcher": ProcessRecord(**n["launcher"]),
                        "processes": tuple(ProcessRecord(**p) for p in n["processes"]),
                    }
                )
                for n in raw.pop("nodes")
            )
            state = cls(**raw, nodes=nodes)
        except FileNotFoundError as exc:
            msg = f"no loopback cluster recorded in {path}; start one with `curate cluster start`"
            raise LoopbackClusterError(msg) from exc
        except (OSError, ValueError, TypeError, KeyError) as exc:
            msg = f"cannot read the cluster state file {path}: {exc}"
            raise LoopbackClusterError(msg) from exc
        check_temp_dir(state.temp_dir, path)
        return state


__all__ = [
    "STATE_VAR",
    "TEMP_PARENT",
    "TEMP_PREFIX",
    "ClusterState",
    "NodeRecord",
    "ProcessRecord",
    "check_temp_dir",
    "default_state_file",
]
