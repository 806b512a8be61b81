"""A multi-node Ray cluster on this machine: a head plus optional worker nodes on loopback.

Each node is one `ray start --block` process (so it has a PID we own and it stops its
children on SIGTERM), started in its own session with CPUs, memory and object store given.
Every node has the same IP: 127.0.0.1 unless `CURATE_BIND_HOST` opens the cluster on
purpose (see `cosmos_curate.core.ray_cluster.bind`), and every Ray process then listens on that
address only. Every port is explicit (free ones picked when not given) so several clusters
and nodes can share the machine. The PIDs of every process go into a state file
and `stop` ends exactly those (plus Ray workers they spawned), never a machine-wide Ray stop.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import attrs
import psutil

from cosmos_curate.cluster.errors import LoopbackClusterError
from cosmos_curate.cluster.loopback_ports import LoopbackPorts
from cosmos_curate.cluster.processes import descendants, running_processes, terminate
from cosmos_curate.cluster.state import (
    TEMP_PARENT,
    TEMP_PREFIX,
    ClusterState,
    NodeRecord,
    ProcessRecord,
)
from cosmos_curate.core.ray_cluster import auth
from cosmos_curate.core.ray_cluster.bind import (
    BIND_VAR,
    LOOPBACK,
    auth_disabled_message,
    beyond_loopback,
    head_env,
    is_loopback,
)
from cosmos_curate.core.ray_cluster.ports import WORKER_PORT_RANGE, free_port
from cosmos_curate.core.utils import settings

logger = logging.getLogger(__name__)

GiB = 1 << 30
MiB = 1 << 20
READY_LINE = "Ray runtime started"
START_ATTEMPTS = 3
# Ray's defaults assume an idle machine; a loaded one needs longer to start agents.
NODE_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_agent_register_timeout_ms": "120000"}


@attrs.frozen
class LoopbackClusterConfig:
    """How to start a loopback cluster; every node gets the same size."""

    workers: int = 0
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory_bytes: int = GiB
    object_store_bytes: int = 200 * MiB
    port: int | None = None  # GCS port; None: 6379 if free, else any free port; 0: any free
    # head's metrics export port; None: any free port
    metrics_port: int | None = settings.DEFAULT_METRICS_PORT
    client_port: int | None = None  # Ray Client; None: 10001 if free, else any; 0: any free
    dashboard: bool = False
    auth_mode: str = "token"  # "token" or "disabled"
    head_ip: str = LOOPBACK  # every node's IP (one machine); see core.ray_cluster.bind
    start_timeout_s: float = 180.0

    def worker_ip(self, index: int) -> str:
        """Address of worker node `index`: the head's (all nodes run on this machine)."""
        return self.head_ip


@attrs.frozen
class _Launch:
    role: str
    ip: str
    metrics_port: int
    proc: subprocess.Popen[bytes]
    log_path: Path


def start_loopback_cluster(config: LoopbackClusterConfig, state_file: Path) -> ClusterState:
    """Start the head, then the worker nodes; write and return the state.

    Raises `LoopbackClusterError` if a cluster recorded in `state_file` still runs, a port is
    taken, or a node does not come up (with the tail of its log); whatever was already
    started is stopped again.
    """
    _refuse_if_running(state_file)
    _check_config(config)
    temp_dir = tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=TEMP_PARENT)
    env, token_path = _node_env(config, Path(temp_dir))
    launches: list[_Launch] = []
    try:
        head, ports, gcs_port = _start_head(config, env, temp_dir)
        launches.append(head)
        address = f"{config.head_ip}:{gcs_port}"
        for index in range(config.workers):
            launches.append(_start_worker(config, address, index, env, Path(temp_dir)))
    except BaseException:
        terminate([r for x in launches if (r := _launcher_record(x)) is not None], temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    state = ClusterState(
        address=address,
        client_address=f"ray://{config.head_ip}:{ports.client}",
        temp_dir=temp_dir,
        auth_mode=config.auth_mode,
        token_path=str(token_path) if token_path else None,
        dashboard_url=f"http://127.0.0.1:{ports.dashboard}" if config.dashboard else None,
        started_at=time.time(),
        nodes=tuple(_record(x, config) for x in launches),
    )
    state.save(state_file)
    return state


def stop_loopback_cluster(
    state_file: Path, *, keep_logs: bool = False, timeout_s: float = 20.0
) -> list[int]:
    """Stop every process of the cluster in `state_file`; returns the PIDs that were running.

    SIGTERM to each node's launcher (Ray stops its children), then SIGTERM and finally
    SIGKILL to whatever recorded process, child of ours or Ray worker of this cluster is
    left. The state file (and, unless `keep_logs`, the Ray temp dir) is removed.
    """
    state = ClusterState.load(state_file)
    # Workers first, so the head does not log their loss as failures.
    records = [r for n in reversed(state.nodes) for r in (n.launcher, *n.processes)]
    stopped = terminate(records, state.temp_dir, timeout_s=timeout_s)
    state_file.unlink(missing_ok=True)
    if not keep_logs:
        shutil.rmtree(state.temp_dir, ignore_errors=True)
    return stopped


# ---- starting --------------------------------------------------------------------------
def _refuse_if_running(state_file: Path) -> None:
    if not state_file.exists():
        return
    try:
        state = ClusterState.load(state_file)
    except LoopbackClusterError:
        return  # unreadable leftovers: overwritten below
    if running_processes(state):
        msg = (
            f"a loopback cluster is already running at {state.address} (state file {state_file}); "
            "stop it with `curate cluster stop` or pass another --state-file"
        )
        raise LoopbackClusterError(msg)


def _check_config(config: LoopbackClusterConfig) -> None:
    if config.auth_mode not in ("token", "disabled"):
        msg = f"auth mode {config.auth_mode!r}: use token or disabled"
        raise LoopbackClusterError(msg)
    if config.workers < 0 or config.num_cpus < 0 or config.num_gpus < 0:
        msg = "workers, CPUs and GPUs must be >= 0"
        raise LoopbackClusterError(msg)
    if config.auth_mode == "disabled" and beyond_loopback(config.head_ip):
        raise LoopbackClusterError(auth_disabled_message(config.head_ip, "--auth disabled"))
    if is_loopback(config.head_ip) and config.head_ip != LOOPBACK:
        # Ray binds every interface for any node IP but exactly 127.0.0.1.
        msg = (
            f"--head-ip {config.head_ip}: Ray would listen on every interface for it; "
            f"use {LOOPBACK} (the default) or set {BIND_VAR} to open the cluster on purpose"
        )
        raise LoopbackClusterError(msg)
    if config.client_port is not None and config.client_port in WORKER_PORT_RANGE:
        msg = f"Ray Client port {config.client_port} lies in Ray's worker port range 10002-19999"
        raise LoopbackClusterError(msg)


def _node_env(config: LoopbackClusterConfig, temp_dir: Path) -> tuple[dict[str, str], Path | None]:
    env = {**os.environ, **NODE_ENV}
    env.pop("RAY_ADDRESS", None)
    if config.auth_mode == "disabled":
        env[auth.AUTH_MODE_VAR] = "disabled"
        return env, None
    env[auth.AUTH_MODE_VAR] = "token"
    source = auth.token_source()
    if source == auth.TOKEN_VAR:
        return env, None
    if source is None:
        # No token anywhere: make one for this cluster instead of writing into ~/.ray.
        path = temp_dir / "auth_token"
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
        env[auth.TOKEN_PATH_VAR] = str(path)
        return env, path
    env[auth.TOKEN_PATH_VAR] = source
    return env, Path(source)


def _ray_executable() -> list[str]:
    # Ray's own `ray start`, through a wrapper that keeps the node IP 127.0.0.1 as given.
    return [sys.executable, "-m", "cosmos_curate.cluster._ray_start"]


def _node_flags(config: LoopbackClusterConfig, ip: str, metrics_port: int) -> list[str]:
    free = free_port
    return [
        "--block",
        "--disable-usage-stats",
        f"--node-ip-address={ip}",
        f"--num-cpus={config.num_cpus:g}",
        f"--num-gpus={config.num_gpus:g}",
        f"--memory={config.memory_bytes}",
        f"--object-store-memory={config.object_store_bytes}",
        f"--metrics-export-port={metrics_port}",
        f"--dashboard-agent-listen-port={free(ip)}",
        f"--dashboard-agent-grpc-port={free(ip)}",
        f"--runtime-env-agent-port={free(ip)}",
        # Random worker ports: several clusters on one machine must not share a range.
        "--min-worker-port=0",
        "--max-worker-port=0",
    ]


def _head_command(
    config: LoopbackClusterConfig, ports: LoopbackPorts, gcs_port: int, temp_dir: str
) -> list[str]:
    return [
        *_ray_executable(),
        "start",
        "--head",
        f"--port={gcs_port}",
        f"--temp-dir={temp_dir}",
        f"--ray-client-server-port={ports.client}",
        f"--include-dashboard={'true' if config.dashboard else 'false'}",
        f"--dashboard-host={LOOPBACK}",
        f"--dashboard-port={ports.dashboard}",
        *_node_flags(config, config.head_ip, ports.head_metrics),
    ]


def _worker_command(
    config: LoopbackClusterConfig, address: str, ip: str, metrics_port: int
) -> list[str]:
    return [
        *_ray_executable(),
        "start",
        f"--address={address}",
        *_node_flags(config, ip, metrics_port),
    ]


def _launch(
    command: list[str],
    *,
    role: str,
    ip: str,
    metrics_port: int,
    env: dict[str, str],
    temp_dir: Path,
) -> _Launch:
    log_path = temp_dir / f"{role}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C in the shell must not reach it
        )
    logger.info("started %s node %s (pid %d): %s", role, ip, proc.pid, " ".join(command))
    return _Launch(role, ip, metrics_port, proc, log_path)


def _start_head(
    config: LoopbackClusterConfig, env: dict[str, str], temp_dir: str
) -> tuple[_Launch, LoopbackPorts, int]:
    # Retried with fresh ports: a free port picked here can be taken by another process
    # before Ray binds it, and a loaded machine can time out Ray's own start-up waits.
    for attempt in range(1, START_ATTEMPTS + 1):
        ports = LoopbackPorts(
            config.head_ip, config.metrics_port, config.client_port, config.port
        )
        gcs_port = ports.gcs()
        head = _launch(
            _head_command(config, ports, gcs_port, temp_dir),
            role="head",
            ip=config.head_ip,
            metrics_port=ports.head_metrics,
            env={**env, **head_env(config.head_ip)},
            temp_dir=Path(temp_dir),
        )
        try:
            _wait_ready([head], config.start_timeout_s)
        except LoopbackClusterError:
            if attempt == START_ATTEMPTS or head.proc.poll() is None:
                raise
            logger.warning("head node failed to start (attempt %d); retrying", attempt)
            continue
        return head, ports, gcs_port
    msg = "unreachable"
    raise AssertionError(msg)


def _start_worker(
    config: LoopbackClusterConfig, address: str, index: int, env: dict[str, str], temp_dir: Path
) -> _Launch:
    # One at a time, retried: on a loaded machine Ray's fixed 30 s raylet registration
    # wait can expire; the failed `ray start` has already stopped its own processes.
    ip = config.worker_ip(index)
    for attempt in range(1, START_ATTEMPTS + 1):
        metrics = free_port(ip)
        command = _worker_command(config, address, ip, metrics)
        role = f"worker{index + 1}"
        launch = _launch(
            command, role=role, ip=ip, metrics_port=metrics, env=env, temp_dir=temp_dir
        )
        try:
            _wait_ready([launch], config.start_timeout_s)
        except LoopbackClusterError:
            if attempt == START_ATTEMPTS or launch.proc.poll() is None:
                raise
            logger.warning("worker node %s failed to start (attempt %d); retrying", ip, attempt)
            continue
        return launch
    msg = "unreachable"
    raise AssertionError(msg)


def _wait_ready(launches: list[_Launch], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    pending = list(launches)
    while pending:
        for launch in list(pending):
            text = launch.log_path.read_text(errors="replace")
            if READY_LINE in text:
                pending.remove(launch)
            elif launch.proc.poll() is not None:
                msg = f"the {launch.role} node ({launch.ip}) exited while starting:\n{_tail(text)}"
                raise LoopbackClusterError(msg)
        if pending and time.monotonic() > deadline:
            names = ", ".join(f"{x.role} ({x.log_path})" for x in pending)
            msg = f"Ray nodes not up after {timeout_s:g}s: {names}"
            raise LoopbackClusterError(msg)
        if pending:
            time.sleep(0.3)


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _launcher_record(launch: _Launch) -> ProcessRecord | None:
    try:
        return ProcessRecord.of(psutil.Process(launch.proc.pid))
    except psutil.Error:
        return None


def _record(launch: _Launch, config: LoopbackClusterConfig) -> NodeRecord:
    proc = psutil.Process(launch.proc.pid)
    return NodeRecord(
        role="head" if launch.role == "head" else "worker",
        ip=launch.ip,
        metrics_port=launch.metrics_port,
        num_cpus=config.num_cpus,
        num_gpus=config.num_gpus,
        launcher=ProcessRecord.of(proc),
        processes=tuple(ProcessRecord.of(c) for c in descendants(proc)),
        log_path=str(launch.log_path),
    )


__all__ = [
    "LoopbackClusterConfig",
    "start_loopback_cluster",
    "stop_loopback_cluster",
]
