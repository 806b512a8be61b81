"""The `--network` of an image build, checked before Docker sees it.

Docker's build API takes `default`, `bridge`, `host`, `none`, `container:<name|id>` or the
name or id of a network that exists; anything else fails deep inside the daemon (or, with
a newline or space, never reaches it as one value). Names follow Docker's object-name
grammar: a letter or digit, then letters, digits, `_`, `.` or `-`.
"""

from __future__ import annotations

import re

from cosmos_curate.image.errors import InvalidNetworkError

BUILTIN_MODES = ("default", "bridge", "host", "none")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")


def check_network(value: str, flag: str = "--network") -> str:
    """`value` if Docker can take it as a build network mode, else `InvalidNetworkError`."""
    name = value.removeprefix("container:")
    if value in BUILTIN_MODES or _NAME.fullmatch(name):
        return value
    msg = (
        f"{flag} {value!r}: give {', '.join(BUILTIN_MODES)}, container:NAME or the name of a "
        "Docker network (letters, digits, _ . -; see `docker network ls`)"
    )
    raise InvalidNetworkError(msg)


__all__ = ["BUILTIN_MODES", "check_network"]
