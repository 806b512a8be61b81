"""What runs inside a Slurm job's steps: one Ray node per step, and the driver.

`node_command` builds the `ray start --block` of one node (the batch script gives each
step its address, from Slurm's NodeAddr); the step then *is* that Ray node (`exec`), so
Slurm owns it and ends it by ending the step. Ports other than the head's GCS port are
picked free on the node's address, so two Ray nodes on one machine never collide.
`run_node` runs it and retries a start that failed (a loaded machine can miss Ray's fixed
30 s raylet registration wait). `wait_for_nodes` blocks the driver step until every node
has joined. When the head's node ends, `forget_head_address` removes the address `ray start`
left in Ray's temp folder for plain `ray.init()` calls on that machine (Ray removes it only
when told to stop every Ray on the machine, which a step ended by Slurm never does), if it
still names this head.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from cosmos_curate.cluster.status import cluster_status
from cosmos_curate.core.ray_cluster import ports
from cosmos_curate.core.ray_cluster.errors import ClusterConnectionError
from cosmos_curate.launch.slurm_jobs import SlurmError

# Ray's defaults assume an idle machine; a loaded one needs longer to register agents. A
# node's SIGTERM drain (for Ray Serve) would wait 30 s on a GCS that the same signal ended.
READY_LINE = "Ray runtime started"
START_ATTEMPTS = 3
NODE_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_agent_register_timeout_ms": "120000",
    "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",
}


def free_port(ip: str, preferred: int | None = None) -> int:
    """`preferred` if nothing listens on it at `ip`, else a free port outside Ray's range."""
    if not preferred:
        return ports.free_port(ip)
    return ports.choose_port(ip, None, "--metrics-port", default=preferred).port


def ray_executable() -> str:
    """The `ray` command of this installation (beside the Python running this)."""
    beside = Path(sys.executable).parent / "ray"
    found = str(beside) if beside.exists() else shutil.which("ray")
    if found is None:
        msg = "the `ray` command is not installed on this node"
        raise SlurmError(msg)
    return found


def node_command(
    *,
    ip: str,
    head_port: int | None,
    address: str | None,
    metrics_port: int,
    ray_args: Sequence[str] = (),
    cpus: str | None = None,
) -> list[str]:
    """`ray start --block` for the head (`head_port` given) or a worker (`address` given).

    `cpus` defaults to the Slurm allocation's CPUs on this node (`SLURM_CPUS_ON_NODE`);
    `ray_args` go last, so they override (e.g. `--num-cpus=4`, `--object-store-memory=...`).
    """
    cpus = cpus or os.environ.get("SLURM_CPUS_ON_NODE")
    flags = [
        "start",
        "--block",
        "--disable-usage-stats",
        f"--node-ip-address={ip}",
        f"--metrics-export-port={free_port(ip, metrics_port or None)}",
        f"--dashboard-agent-listen-port={free_port(ip)}",
        f"--dashboard-agent-grpc-port={free_port(ip)}",
        f"--runtime-env-agent-port={free_port(ip)}",
        "--min-worker-port=0",
        "--max-worker-port=0",
        *([f"--num-cpus={cpus}"] if cpus else []),
    ]
    if head_port is not None:
        flags[1:1] = [
            "--head",
            f"--port={head_port}",
            f"--ray-client-server-port={free_port(ip)}",
            "--include-dashboard=false",
        ]
    elif address is not None:
        flags.insert(1, f"--address={address}")
    else:
        msg = "a Ray node needs --head or --address"
        raise SlurmError(msg)
    return [ray_executable(), *flags, *ray_args]


def node_env() -> dict[str, str]:
    """The node's environment: this one, minus RAY_ADDRESS, plus Ray start-up settings."""
    env = {**os.environ, **NODE_ENV}
    env.pop("RAY_ADDRESS", None)
    return env


def run_node(make_command: Callable[[], list[str]], env: dict[str, str]) -> int:
    """Run the Ray node to its end, its output passed through; its exit code.

    A start that fails before Ray reports it is up is retried (fresh ports, up to
    `START_ATTEMPTS`). SIGTERM and SIGINT are passed on to `ray start`, which then stops
    its node in order; after a signal nothing is retried.
    """
    signalled: list[int] = []
    proc: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _frame: FrameType | None) -> None:
        signalled.append(signum)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = 1
    for attempt in range(1, START_ATTEMPTS + 1):
        proc = subprocess.Popen(
            make_command(), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        started = _pass_through(proc)
        code = proc.wait()
        if started or signalled or code == 0:
            return code
        if attempt < START_ATTEMPTS:
            sys.stderr.write(f"[curate] Ray node failed to start (attempt {attempt}); retrying\n")
            sys.stderr.flush()
    return code


def forget_head_address(address: str, ray_args: Sequence[str] = ()) -> bool:
    """Remove Ray's "current cluster" file if it names `address`; whether it was removed.

    `ray start --head` writes the head's address to `ray_current_cluster` in Ray's temp folder
    (`--temp-dir` among `ray_args`, else the default); a later `ray.init()` on the machine
    connects there. Once the head has ended, the file would send it to a dead address. A file
    naming another cluster (started since, by anyone) is left alone.
    """
    from ray._common.utils import get_ray_address_file

    temp_dir = None
    for arg, following in zip(ray_args, [*ray_args[1:], None], strict=True):
        if arg.startswith("--temp-dir="):
            temp_dir = arg.split("=", 1)[1]
        elif arg == "--temp-dir" and following is not None:
            temp_dir = following
    path = Path(get_ray_address_file(temp_dir))
    try:
        if path.read_text().strip() != address:
            return False
        path.unlink()
    except OSError:  # no file, or not ours to read
        return False
    return True


def _pass_through(proc: subprocess.Popen[bytes]) -> bool:
    """Copy the process's output to ours; whether it said Ray is up."""
    assert proc.stdout is not None
    started = False
    for line in proc.stdout:
        sys.stdout.buffer.write(line)
        sys.stdout.flush()
        started = started or READY_LINE.encode() in line
    return started


def wait_for_gcs(address: str, timeout_s: float) -> None:
    """Block until the head's GCS port accepts connections (a worker must not start before)."""
    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=3):
                return
        except OSError:
            if time.monotonic() > deadline:
                msg = f"the Ray head at {address} did not come up within {timeout_s:g}s"
                raise SlurmError(msg) from None
            time.sleep(1)


def wait_for_nodes(
    address: str,
    nodes: int,
    timeout_s: float,
    *,
    on_progress: Callable[[int], None] = lambda _alive: None,
) -> float:
    """Block until `nodes` Ray nodes are alive at `address`; the seconds it took."""
    start = time.monotonic()
    seen = -1
    last_error = ""
    while True:
        alive = 0
        try:
            alive = len(cluster_status(address).alive_nodes)
        except ClusterConnectionError as exc:  # the head may not be up yet
            last_error = str(exc)
        if alive != seen:
            on_progress(alive)
            seen = alive
        if alive >= nodes:
            return time.monotonic() - start
        if time.monotonic() - start > timeout_s:
            detail = f" (last error: {last_error})" if last_error and not alive else ""
            msg = f"only {alive} of {nodes} Ray nodes joined within {timeout_s:g}s{detail}"
            raise SlurmError(msg)
        time.sleep(2)


__all__ = [
    "forget_head_address",
    "free_port",
    "node_command",
    "node_env",
    "run_node",
    "wait_for_gcs",
    "wait_for_nodes",
]
