"""Pieces shared by the command groups: consoles, logging set-up, shared option aliases."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

# Data goes to stdout; diagnostics, progress and errors to stderr.
out = Console()
err = Console(stderr=True)

RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        envvar="RAY_ADDRESS",
        help="Ray cluster to run on (host:port or ray://host:10001); default: embedded local Ray.",
    ),
]


def configure_logging(verbose: bool = False) -> None:
    """Route library logs to stderr through rich; warnings only unless verbose."""
    handler = RichHandler(console=err, show_path=False, show_time=False, markup=False)
    root = logging.getLogger("cosmos_curate")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    root.propagate = False


def stderr_is_terminal() -> bool:
    """Whether stderr is an interactive terminal (live displays only make sense there)."""
    return sys.stderr.isatty()
