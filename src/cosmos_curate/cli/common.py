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
WIDE_OUTPUT = 180
"""Columns of stdout when it is not a terminal, so that wide tables reach scripts uncut."""

RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        envvar="RAY_ADDRESS",
        help="Ray cluster to run on (host:port or ray://host:10001); default: embedded local Ray.",
    ),
]


def wide_out() -> Console:
    """The console for wide tables: `out` on a terminal, else stdout `WIDE_OUTPUT` wide."""
    return out if out.is_terminal else Console(width=max(out.width, WIDE_OUTPUT))


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
