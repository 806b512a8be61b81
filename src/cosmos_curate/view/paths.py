"""Which files the viewer may serve: only regular files inside the output folder.

A request's path is relative to the output root. `..` parts, absolute paths, and links
that lead out of the root are refused (the caller answers 404, as for a missing file), so
the server can only ever read what lies under the folder the user named.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from starlette.responses import Response


def not_found() -> Response:
    """The answer for anything not served: missing, outside the output, or refused."""
    return Response("not found\n", status_code=404, media_type="text/plain")


def inside(root: Path, relative: str) -> Path | None:
    """The file `relative` names under `root` (already resolved), or None when it is not one.

    None for: an empty or absolute path, any `..` part, a NUL byte, a path whose resolved
    target (links followed) is outside `root`, and anything that is not a regular file.
    """
    if not relative or "\x00" in relative or "\\" in relative:
        return None
    parts = PurePosixPath(relative).parts
    if not parts or parts[0] == "/" or ".." in parts:
        return None
    try:
        target = root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a link loop
        return None
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target
