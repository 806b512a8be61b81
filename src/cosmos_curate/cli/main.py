"""The `curate` command: wires the command groups and turns known errors into one line."""

from __future__ import annotations

import os
import sys

import typer

from cosmos_curate.cli import (
    cluster_cli,
    image_cli,
    k8s_cli,
    metrics_cli,
    model_cli,
    pipeline_cli,
)
from cosmos_curate.cli.common import err
from cosmos_curate.cli.errors import user_message

app = typer.Typer(
    name="curate",
    help="Curate large datasets with AI models on Ray clusters.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(pipeline_cli.app, name="pipeline")
app.add_typer(cluster_cli.app, name="cluster")
app.add_typer(image_cli.app, name="image")
app.add_typer(model_cli.app, name="model")
app.add_typer(metrics_cli.app, name="metrics")
app.add_typer(k8s_cli.app, name="k8s")


def main(argv: list[str] | None = None) -> None:
    """Entry point: exit 1 with one line on known errors; re-raise unknown ones."""
    try:
        app(args=argv, prog_name="curate", standalone_mode=True)
    except KeyboardInterrupt:
        err.print("interrupted: workers stopped")
        sys.exit(130)
    except Exception as exc:
        message = user_message(exc)
        if message is None or os.environ.get("CURATE_DEBUG") == "1":
            raise
        err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
