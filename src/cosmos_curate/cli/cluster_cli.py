"""`curate cluster start|status|stop`: a multi-node Ray cluster on this machine.

curate cluster start --workers 2 --num-cpus 2      # head + 2 worker nodes on 127.0.0.x
curate pipeline run hello-world --ray-address 127.0.0.2:6379
curate cluster status                              # nodes, CPUs, GPUs, memory, jobs
curate cluster stop                                # ends exactly the PIDs it started
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from cosmos_curate.cli.common import configure_logging, err, out
from cosmos_curate.cluster.loopback import (
    GiB,
    LoopbackClusterConfig,
    MiB,
    start_loopback_cluster,
    stop_loopback_cluster,
)
from cosmos_curate.cluster.processes import running_processes
from cosmos_curate.cluster.state import STATE_VAR, ClusterState, default_state_file
from cosmos_curate.cluster.status import ClusterStatus, cluster_status
from cosmos_curate.core.ray_cluster.bind import bind_host
from cosmos_curate.core.ray_cluster.ports import check_port_number
from cosmos_curate.core.utils.preflight import PreflightError, check_finite
from cosmos_curate.core.utils.settings import DEFAULT_METRICS_PORT
from cosmos_curate.presentation.format import format_bytes, format_duration

MIN_OBJECT_STORE_MB = 75  # Ray refuses a smaller object store

app = typer.Typer(
    help="Start, inspect and stop a loopback multi-node Ray cluster on this machine.",
    no_args_is_help=True,
)

StateFileOption = Annotated[
    Path | None,
    typer.Option(
        "--state-file",
        envvar=STATE_VAR,
        dir_okay=False,
        help="Where the cluster's addresses and PIDs are kept (default: user cache).",
    ),
]


@app.command("start")
def start(
    *,
    workers: Annotated[
        int, typer.Option("--workers", "-w", help="Extra worker nodes besides the head.")
    ] = 0,
    num_cpus: Annotated[float, typer.Option("--num-cpus", help="Logical CPUs per node.")] = 1.0,
    num_gpus: Annotated[float, typer.Option("--num-gpus", help="GPUs declared per node.")] = 0.0,
    memory_gb: Annotated[
        float, typer.Option("--memory-gb", help="Task memory per node, GiB.")
    ] = 1.0,
    object_store_mb: Annotated[
        int, typer.Option("--object-store-mb", help="Object store per node, MiB.")
    ] = 200,
    port: Annotated[
        int | None, typer.Option("--port", help="Head GCS port (default 6379, else a free one).")
    ] = None,
    metrics_port: Annotated[
        int, typer.Option("--metrics-port", help="Head's metrics export port (0: any free port).")
    ] = DEFAULT_METRICS_PORT,
    client_port: Annotated[
        int | None,
        typer.Option("--client-port", help="Ray Client port (default 10001, else a free one)."),
    ] = None,
    dashboard: Annotated[
        bool, typer.Option("--dashboard/--no-dashboard", help="Ray dashboard on 127.0.0.1.")
    ] = False,
    auth: Annotated[str, typer.Option("--auth", help="Ray auth: token or disabled.")] = "token",
    head_ip: Annotated[
        str | None,
        typer.Option(
            "--head-ip",
            help="IP of every node (default 127.0.0.1; CURATE_BIND_HOST opens it on purpose).",
        ),
    ] = None,
    state_file: StateFileOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show info logs.")] = False,
) -> None:
    """Start a head (plus --workers nodes) on loopback and record every PID."""
    configure_logging(verbose)
    path = state_file or default_state_file()
    _check_start_numbers(workers, num_cpus, num_gpus, memory_gb, object_store_mb)
    for flag, value in (("--port", port), ("--metrics-port", metrics_port),
                        ("--client-port", client_port)):  # fmt: skip
        if value is not None:
            check_port_number(value, flag, allow_zero=True)
    config = LoopbackClusterConfig(
        workers=workers,
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        memory_bytes=int(memory_gb * GiB),
        object_store_bytes=object_store_mb * MiB,
        port=port,
        metrics_port=metrics_port or None,
        client_port=client_port,
        dashboard=dashboard,
        auth_mode=auth,
        head_ip=head_ip or bind_host(),
    )
    err.print(f"starting a Ray head{f' and {workers} worker node(s)' if workers else ''} ...")
    state = start_loopback_cluster(config, path)
    lines = [
        f"Ray cluster up: {len(state.nodes)} node(s)",
        f"  GCS address   {state.address}   (--ray-address {state.address})",
        f"  Ray Client    {state.client_address}",
    ]
    lines += [
        f"  {n.role:<7}       {n.ip}   metrics http://{n.ip}:{n.metrics_port}/metrics"
        for n in state.nodes
    ]
    if state.dashboard_url:
        lines.append(f"  dashboard     {state.dashboard_url}")
    if state.token_path:
        lines.append(f"  auth token    export RAY_AUTH_TOKEN_PATH={state.token_path}")
    elif state.auth_mode == "token":
        lines.append("  auth token    from RAY_AUTH_TOKEN")
    else:
        lines.append("  auth          disabled")
    lines.append(f"  state file    {path}")
    for line in lines:
        out.print(line, soft_wrap=True, highlight=False)


@app.command("status")
def status(
    *,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address", help="Any cluster's GCS address (default: the loopback one)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    state_file: StateFileOption = None,
) -> None:
    """Nodes (CPUs, GPUs, memory), running pipelines (Ray jobs) and the loopback cluster's PIDs."""
    configure_logging(False)
    loopback: ClusterState | None = None
    if ray_address is None:
        loopback = ClusterState.load(state_file or default_state_file())
        _use_loopback_token(loopback)
        ray_address = loopback.address
    info = cluster_status(ray_address)
    pids = sorted(p.pid for p in running_processes(loopback)) if loopback is not None else []
    if as_json:
        out.print_json(json.dumps({**info.as_dict(), "local_pids": pids}))
        return
    _print_status(info, loopback, pids)


@app.command("stop")
def stop(
    *,
    state_file: StateFileOption = None,
    keep_logs: Annotated[
        bool, typer.Option("--keep-logs", help="Keep the Ray session logs.")
    ] = False,
) -> None:
    """Stop exactly the processes `start` recorded (and Ray workers they spawned)."""
    configure_logging(False)
    path = state_file or default_state_file()
    stopped = stop_loopback_cluster(path, keep_logs=keep_logs)
    out.print(f"stopped {len(stopped)} process(es): {' '.join(map(str, stopped)) or '-'}")


def _check_start_numbers(
    workers: int, num_cpus: float, num_gpus: float, memory_gb: float, object_store_mb: int
) -> None:
    if workers < 0:
        msg = f"--workers {workers}: give a whole number >= 0"
        raise PreflightError(msg)
    check_finite(num_cpus, "--num-cpus", minimum=0)
    check_finite(num_gpus, "--num-gpus", minimum=0)
    if not math.isfinite(memory_gb) or memory_gb <= 0:
        msg = f"--memory-gb {memory_gb}: give a finite number > 0"
        raise PreflightError(msg)
    if object_store_mb < MIN_OBJECT_STORE_MB:
        msg = f"--object-store-mb {object_store_mb}: Ray needs at least {MIN_OBJECT_STORE_MB}"
        raise PreflightError(msg)


def _use_loopback_token(state: ClusterState) -> None:
    import os

    from cosmos_curate.core.ray_cluster import auth

    if (
        state.token_path
        and not os.environ.get(auth.TOKEN_VAR)
        and not os.environ.get(auth.TOKEN_PATH_VAR)
    ):
        os.environ[auth.TOKEN_PATH_VAR] = state.token_path


def _print_status(info: ClusterStatus, loopback: ClusterState | None, pids: list[int]) -> None:
    metrics = {n.ip: n.metrics_port for n in loopback.nodes} if loopback is not None else {}
    nodes = Table(
        "node",
        "address",
        "role",
        "state",
        "CPUs (free/total)",
        "GPUs (free/total)",
        "memory",
        "object store",
        "metrics",
        title=f"Ray cluster {info.address}",
    )
    for n in info.nodes:
        port = n.metrics_port or metrics.get(n.ip)
        nodes.add_row(
            n.node_id[:12],
            n.ip,
            "head" if n.is_head else "worker",
            Text("alive") if n.alive else Text("dead", style="red"),
            f"{n.cpus_free:g}/{n.cpus:g}",
            f"{n.gpus_free:g}/{n.gpus:g}",
            format_bytes(n.memory_bytes),
            format_bytes(n.object_store_bytes),
            f":{port}" if port else "-",
        )
    out.print(nodes)
    jobs = Table("job", "driver", "running for", "command", title="running pipelines (Ray jobs)")
    now = time.time()
    for j in info.jobs:
        jobs.add_row(
            j.job_id,
            f"{j.driver_ip} pid {j.driver_pid}",
            format_duration(now - j.started_at),
            j.entrypoint or "-",
        )
    out.print(jobs if info.jobs else "no pipeline running")
    if loopback is not None:
        out.print(
            f"loopback cluster: {len(pids)} process(es) running, started "
            f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(loopback.started_at))}"
        )
