"""Help printed as written, for every command of the tree (also those built on demand)."""

from __future__ import annotations

import pathlib
import typing
from typing import Any

import typer.rich_utils
from rich.markup import escape
from rich.table import Table

# What an option's value reads as in help (Typer's default is the Python type: `<list[str]>`).
_PLACEHOLDERS: dict[Any, str] = {int: "N", float: "NUMBER", str: "TEXT", pathlib.Path: "PATH"}


def placeholder(annotation: Any) -> str | None:
    """The word shown for an option's value (`N`, `PATH`, ...), None to keep Typer's own."""
    if typing.get_origin(annotation) is list:
        (annotation,) = typing.get_args(annotation)
    return _PLACEHOLDERS.get(annotation)


def literal_help(command: Any) -> Any:
    """Escape Rich markup in help texts (`[options]` is text) and hide flags' `<bool>` type.

    Walks the command's subcommands that exist already; a group that builds its commands
    on demand calls this on each one it builds.
    """
    for attr in ("help", "short_help", "epilog"):
        if isinstance(getattr(command, attr, None), str):
            setattr(command, attr, escape(getattr(command, attr)))
    for param in command.params:
        if isinstance(getattr(param, "help", None), str):
            param.help = escape(param.help)
        if getattr(param, "is_flag", False) or getattr(param, "is_bool_flag", False):
            param.metavar = ""
        elif param.metavar is None and hasattr(param, "type_descriptor"):
            param.metavar = placeholder(param.type_descriptor.annotation)
    _plain_help_option(command)
    for sub in getattr(command, "commands", {}).values():
        literal_help(sub)
    return command


def _plain_help_option(command: Any) -> None:
    """`--help` (made per call by click) shows no `<bool>` either."""
    make = command.get_help_option

    def help_option(ctx: Any) -> Any:
        option = make(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option


class _WholeNamesTable(Table):
    """Typer's help tables, with option and command names never cut.

    Name columns do not wrap; the type column (next to last) folds within 24 characters and
    the help text (last) keeps at least 24, so at 80 columns the texts wrap instead.
    """

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        if not self.columns:
            for _ in renderables[:-2]:
                self.add_column(no_wrap=True)
            if len(renderables) > 1:
                self.add_column(overflow="fold", max_width=24)
            self.add_column(ratio=1, min_width=24, overflow="fold")
        super().add_row(*renderables, **kwargs)


# Typer builds its help panels with `rich_utils.Table` and no way to style the columns.
typer.rich_utils.Table = _WholeNamesTable  # type: ignore[attr-defined,misc]
