"""Pieces shared by the command groups: consoles, logging set-up, shared option aliases."""

from __future__ import annotations

import logging
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.text import Text

# Data goes to stdout; diagnostics, progress and errors to stderr. Text from users, files
# and tasks is printed literally: no rich markup (`[red]`, `[/]`), no `:emoji:` codes, no
# automatic highlighting. Styled output builds `rich.text.Text` objects instead.
PLAIN: dict[str, Any] = {"markup": False, "emoji": False, "highlight": False}
out = Console(**PLAIN)
err = Console(stderr=True, **PLAIN)
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
    return out if out.is_terminal else Console(width=max(out.width, WIDE_OUTPUT), **PLAIN)


def print_error(message: str) -> None:
    """One `error: ...` line on stderr, the message printed literally and never wrapped."""
    err.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)


def print_note(message: str) -> None:
    """One diagnostic line on stderr (where outputs went, a port taken instead of another)."""
    err.print(Text(message), soft_wrap=True)


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
