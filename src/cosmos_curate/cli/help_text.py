"""Help printed as written, for every command of the tree (also those built on demand)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape


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
    for sub in getattr(command, "commands", {}).values():
        literal_help(sub)
    return command
