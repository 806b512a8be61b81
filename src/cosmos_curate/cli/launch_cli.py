"""`curate local launch`: run a command in the built image on this machine.

curate local launch -- curate pipeline run demo-task-chunking
curate local launch --image cosmos-curate:1.0 --gpus 2 -- curate pipeline run hello-world
curate local launch --dry-run -- curate pipeline list      # the equivalent `docker run`
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cosmos_curate.cli.common import out, print_note
from cosmos_curate.cli.errors import work_started
from cosmos_curate.core.ray_cluster.bind import LOOPBACK
from cosmos_curate.core.ray_cluster.ports import check_port_number, choose_port
from cosmos_curate.core.utils.settings import DEFAULT_METRICS_PORT
from cosmos_curate.launch.local import (
    DEFAULT_IMAGE,
    GpuRequest,
    LaunchSpec,
    check_spec,
    launch,
)

app = typer.Typer(help="Run commands in the built image on this machine.", no_args_is_help=True)


@app.command(
    "launch",
    context_settings={"allow_interspersed_args": False},
)
def launch_command(
    command: Annotated[
        list[str] | None, typer.Argument(help="The command to run in the container, after --.")
    ] = None,
    *,
    image: Annotated[
        str, typer.Option("--image", help="Image NAME:TAG built by `curate image build`.")
    ] = DEFAULT_IMAGE,
    gpus: Annotated[
        str,
        typer.Option("--gpus", help="all, none or a number (default: all, if there are any)."),
    ] = "auto",
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            help=f"Host port (on 127.0.0.1) for the container's metrics port "
            f"{DEFAULT_METRICS_PORT} (default: the same, or a free one when it is busy).",
        ),
    ] = None,
    network: Annotated[
        str | None,
        typer.Option("--network", help="Docker network (e.g. host); default: docker's bridge."),
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option("--env", "-e", help="KEY=VALUE, or KEY to pass this shell's value (repeat)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the equivalent `docker run` line and stop.")
    ] = False,
) -> int:
    """Run COMMAND in the image; exits with the command's exit code. Ctrl-C stops it."""
    if metrics_port is not None:  # in every mode, published or not
        check_port_number(metrics_port, "--metrics-port")
    if dry_run or network == "host":  # nothing is published: no port to check
        port, moved = metrics_port or DEFAULT_METRICS_PORT, False
    else:  # on the host's 127.0.0.1, where the container's port is published
        chosen = choose_port(LOOPBACK, metrics_port, "--metrics-port")
        port, moved = chosen.port, chosen.replaced_default
    spec = LaunchSpec(
        command=tuple(command or ()),
        image=image,
        gpus=GpuRequest.parse(gpus),
        working_dir=Path.cwd(),
        metrics_port=port,
        network=network,
        extra_env=tuple(env or ()),
    )
    if dry_run:
        check_spec(spec)
        out.print(spec.docker_command(), soft_wrap=True)
        print_note(
            "values are not shown: each --env=NAME takes NAME from the shell that runs this line"
        )
        return 0
    if moved:
        print_note(
            f"port {DEFAULT_METRICS_PORT} is busy on {LOOPBACK}: "
            f"metrics published on {LOOPBACK}:{port}"
        )
    with work_started():
        return launch(spec)
