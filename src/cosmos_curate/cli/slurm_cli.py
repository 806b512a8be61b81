r"""`curate slurm submit|status|logs|cancel`: run a command on a Ray cluster in a Slurm job.

curate slurm submit --nodes 4 --gpus-per-node 8 --partition batch --time 4:00:00 \\
    -- curate pipeline run video-split --input-path /data/in --output-path /data/out
curate slurm submit --dry-run --nodes 2 -- curate pipeline run hello-world   # the script
curate slurm status 1234          # state, exit code, restarts, nodes, log path
curate slurm logs 1234 --follow   # the job's log until it ends
curate slurm cancel 1234
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import attrs
import typer

from cosmos_curate.cli.common import out, print_note
from cosmos_curate.core.utils.settings import DEFAULT_METRICS_PORT
from cosmos_curate.launch.slurm import SlurmJobSpec, render_script, submit
from cosmos_curate.launch.slurm_jobs import (
    SlurmJobRecord,
    cancel_job,
    find_job,
    job_state,
)
from cosmos_curate.launch.slurm_node import (
    forget_head_address,
    node_command,
    node_env,
    run_node,
    wait_for_gcs,
    wait_for_nodes,
)

app = typer.Typer(help="Run commands on a Ray cluster inside a Slurm job.", no_args_is_help=True)
JobArgument = Annotated[str, typer.Argument(help="Slurm job id printed by `curate slurm submit`.")]
_COMMAND_SETTINGS = {"allow_interspersed_args": False}


@app.command("submit", context_settings=_COMMAND_SETTINGS)
def submit_command(
    command: Annotated[list[str] | None, typer.Argument(help="The command, after --.")] = None,
    *,
    nodes: Annotated[int, typer.Option("--nodes", "-N", help="Nodes of the job.")] = 1,
    gpus_per_node: Annotated[int, typer.Option("--gpus-per-node", help="GPUs per node.")] = 0,
    partition: Annotated[str | None, typer.Option("--partition", "-p")] = None,
    account: Annotated[str | None, typer.Option("--account", "-A")] = None,
    time_limit: Annotated[
        str | None, typer.Option("--time", "-t", help="Time limit, e.g. 4:00:00.")
    ] = None,
    container_image: Annotated[
        str | None, typer.Option("--container-image", help="Run every step in this image (pyxis).")
    ] = None,
    container_mounts: Annotated[
        list[str] | None, typer.Option("--container-mounts", help="SRC:DST[:ro] (repeat).")
    ] = None,
    sbatch_line: Annotated[
        list[str] | None,
        typer.Option("--sbatch-line", help="An extra sbatch option, e.g. --mem=0 (repeat)."),
    ] = None,
    job_name: Annotated[str, typer.Option("--job-name", "-J")] = "curate",
    exclusive: Annotated[
        bool, typer.Option("--exclusive/--shared", help="Whole nodes (default) or shared.")
    ] = True,
    requeue: Annotated[
        bool, typer.Option("--requeue", help="Let Slurm requeue the job (preemption, node loss).")
    ] = False,
    checkpoint_dir: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint-dir",
            file_okay=False,
            help="Checkpoint folder of the pipeline (shared filesystem); a requeued job resumes.",
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Resume from --checkpoint-dir from the first attempt.")
    ] = False,
    ray_port: Annotated[
        int | None,
        typer.Option("--ray-port", help="Head's GCS port (default 20000 + job id % 10000)."),
    ] = None,
    metrics_port: Annotated[
        int,
        typer.Option("--metrics-port", help="Each node's metrics port (busy: a free one; 0: any)."),
    ] = DEFAULT_METRICS_PORT,
    ray_arg: Annotated[
        list[str] | None,
        typer.Option("--ray-arg", help="Extra `ray start` flag for every node (repeat)."),
    ] = None,
    auth: Annotated[str, typer.Option("--auth", help="Ray auth: token or disabled.")] = "token",
    join_timeout: Annotated[
        int,
        typer.Option(
            "--join-timeout", help="Seconds to wait for every node to join the head (default 600)."
        ),
    ] = 600,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for the job; exit with its exit code.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the sbatch script; submit nothing.")
    ] = False,
) -> int:
    """Submit COMMAND as a Slurm job running on a Ray cluster across its nodes."""
    spec = SlurmJobSpec(
        command=tuple(command or ()),
        nodes=nodes,
        gpus_per_node=gpus_per_node,
        partition=partition,
        account=account,
        time=time_limit,
        container_image=container_image,
        container_mounts=tuple(container_mounts or ()),
        sbatch_lines=tuple(sbatch_line or ()),
        job_name=job_name,
        exclusive=exclusive,
        requeue=requeue,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
        ray_port=ray_port,
        metrics_port=metrics_port,
        ray_args=tuple(ray_arg or ()),
        auth=auth,
        join_timeout_s=join_timeout,
    )
    if dry_run:
        out.print(render_script(spec, Path("JOB_DIR")), end="", soft_wrap=True)
        return 0

    def submitted(record: SlurmJobRecord) -> None:
        out.print(record.job_id, soft_wrap=True)
        print_note(f"submitted job {record.job_id}; log {record.log_path()}")
        sys.stdout.flush()

    record, code = submit(spec, wait=wait, on_submitted=submitted)
    if code is None:
        return 0
    print_note(f"job {record.job_id} ended with exit code {code}")
    return code


@app.command("status")
def status_command(
    job: JobArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print as one JSON object.")] = False,
) -> None:
    """State, exit code, restarts and nodes of a job, and where its log is."""
    record = find_job(job)
    state = job_state(record.job_id)
    data = {**attrs.asdict(state), "job_id": record.job_id, "log": str(record.log_path())}
    if as_json:
        out.print(json.dumps(data), soft_wrap=True)
        return
    for key in ("job_id", "state", "reason", "exit_code", "restarts", "nodes", "log"):
        out.print(f"{key:<10}{'' if data[key] is None else data[key]}", soft_wrap=True)


@app.command("logs")
def logs_command(
    job: JobArgument,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the job ends.")
    ] = False,
) -> None:
    """Print the job's log (every attempt of a requeued job)."""
    record = find_job(job)
    path = record.log_path()
    offset = 0
    while True:
        if path.exists():
            with path.open("rb") as log:
                log.seek(offset)
                chunk = log.read()
            offset += len(chunk)
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
        if not follow or job_state(record.job_id).finished:
            break
        time.sleep(1)
    if offset == 0 and not path.exists():
        print_note(f"no log yet at {path} (the job has not started)")


@app.command("cancel")
def cancel_command(job: JobArgument) -> None:
    """Cancel a job (Slurm ends every step: the Ray nodes and the command)."""
    record = find_job(job)
    cancel_job(record)
    print_note(f"cancelled job {record.job_id}")


# ---- inside the job: one step per Ray node, and the driver step ------------------------
@app.command("node", hidden=True)
def node_step(
    *,
    ip: Annotated[str, typer.Option("--ip")],
    head: Annotated[bool, typer.Option("--head")] = False,
    port: Annotated[int, typer.Option("--port")] = 6379,
    address: Annotated[str | None, typer.Option("--address")] = None,
    metrics_port: Annotated[int, typer.Option("--metrics-port")] = DEFAULT_METRICS_PORT,
    ray_arg: Annotated[list[str] | None, typer.Option("--ray-arg")] = None,
) -> int:
    """Run this node's Ray (`ray start --block`); a worker waits for the head first."""
    if not head and address is not None:
        wait_for_gcs(address, timeout_s=600)

    def command() -> list[str]:
        line = node_command(
            ip=ip,
            head_port=port if head else None,
            address=None if head else address,
            metrics_port=metrics_port,
            ray_args=tuple(ray_arg or ()),
        )
        print_note(f"[curate] {'head' if head else 'worker'} {ip}: {' '.join(line[1:])}")
        sys.stderr.flush()
        return line

    code = run_node(command, node_env())
    if head:
        forget_head_address(f"{ip}:{port}", tuple(ray_arg or ()))
    return code


@app.command("driver", hidden=True, context_settings=_COMMAND_SETTINGS)
def driver_step(
    command: Annotated[list[str], typer.Argument()],
    *,
    address: Annotated[str, typer.Option("--address")],
    nodes: Annotated[int, typer.Option("--nodes")],
    timeout: Annotated[float, typer.Option("--timeout")] = 600,
) -> None:
    """Wait until `nodes` Ray nodes joined, then run COMMAND with RAY_ADDRESS set."""
    took = wait_for_nodes(
        address, nodes, timeout, on_progress=lambda n: print_note(f"[curate] {n}/{nodes} nodes up")
    )
    print_note(f"[curate] all {nodes} Ray node(s) joined in {took:.1f}s; running the command")
    sys.stderr.flush()
    os.execvpe(command[0], command, {**os.environ, "RAY_ADDRESS": address})
