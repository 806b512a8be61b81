"""Checks of user-given paths and numbers that create nothing, for use before a run starts.

Pipelines call them from their options models (pydantic validators) or the CLI before Ray
starts, so that a missing input folder or an output path that cannot be created is one
line naming the option, and nothing is left behind. Remote URLs (`s3://...`) are not
checked here: they are the storage layer's to check.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from cosmos_curate.core.interfaces.errors import CurateError


class PreflightError(CurateError, ValueError):
    """A path or number given by the user cannot work; the message names the option."""


def is_remote(path: str | Path) -> bool:
    """Whether `path` is a URL (`s3://...`) rather than a local path."""
    return "://" in str(path)


def check_finite(value: float | None, option: str, *, minimum: float | None = None) -> None:
    """A finite number (not inf/nan), at least `minimum` when given; None passes."""
    if value is None:
        return
    if not math.isfinite(value) or (minimum is not None and value < minimum):
        bound = f" >= {minimum:g}" if minimum is not None else ""
        msg = f"{option} {value}: give a finite number{bound}"
        raise PreflightError(msg)


def check_input_dir(path: str | Path, option: str) -> None:
    """An existing, readable local folder (URLs pass unchecked)."""
    if is_remote(path):
        return
    folder = Path(path).expanduser()
    if not folder.exists():
        msg = f"{option} {path}: no such folder"
        raise PreflightError(msg)
    if not folder.is_dir():
        msg = f"{option} {path}: not a folder"
        raise PreflightError(msg)
    if not os.access(folder, os.R_OK | os.X_OK):
        msg = f"{option} {path}: the folder is not readable"
        raise PreflightError(msg)


def check_new_dir(path: str | Path, option: str) -> None:
    """A folder that exists, or can be created (its nearest existing parent is writable)."""
    if is_remote(path):
        return
    folder = Path(path).expanduser()
    if folder.exists():
        if not folder.is_dir():
            msg = f"{option} {path}: exists and is not a folder"
            raise PreflightError(msg)
        _require_writable(folder, option, path)
        return
    _require_creatable(folder, option, path)


def check_new_file(path: str | Path, option: str) -> None:
    """A file that is not a folder and that can be written (created with its parents)."""
    if is_remote(path):
        return
    file = Path(path).expanduser()
    if file.is_dir():
        msg = f"{option} {path}: is a folder; give a file path"
        raise PreflightError(msg)
    if file.exists():
        _require_writable(file, option, path)
        return
    _require_creatable(file, option, path)


def _require_creatable(path: Path, option: str, raw: str | Path) -> None:
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        msg = f"{option} {raw}: cannot be created, {parent} is a file"
        raise PreflightError(msg)
    _require_writable(parent, option, raw)


def _require_writable(path: Path, option: str, raw: str | Path) -> None:
    if not os.access(path, os.W_OK):
        msg = f"{option} {raw}: {path} is not writable"
        raise PreflightError(msg)


__all__ = [
    "PreflightError",
    "check_finite",
    "check_input_dir",
    "check_new_dir",
    "check_new_file",
    "is_remote",
]
