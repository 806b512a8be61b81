"""How the project's code and the driver's own modules reach a cluster's workers.

Stages are pickled by reference to their module, so a worker must be able to import the
module that defined them. `CURATE_SHIP_CODE` picks the way:

- `path` (default for an embedded cluster or one on this machine): workers get the
  driver's code folders on `PYTHONPATH`; they share this machine's filesystem.
- `upload` (default for a cluster elsewhere): Ray uploads the `cosmos_curate` package as a
  `py_modules` entry and the driver's working directory as `working_dir`, so the cluster
  runs exactly the driver's version of the code. Only what git would track goes, never
  secret files (`cosmos_curate.core.ray_cluster.shipped_files` decides, `CURATE_SHIP_INCLUDE` adds
  files); they travel as one zip built here. `CURATE_WORKING_DIR` names another folder,
  or `none`.
- `none`: ship nothing; the cluster's image already has the code.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cosmos_curate.core.ray_cluster import shipped_files
from cosmos_curate.core.ray_cluster.address import RayAddress
from cosmos_curate.core.ray_cluster.errors import ClusterConnectionError
from cosmos_curate.core.utils import settings
from cosmos_curate.presentation.format import format_bytes

logger = logging.getLogger(__name__)

SHIP_VAR = settings.SHIP_CODE_VAR
WORKING_DIR_VAR = settings.WORKING_DIR_VAR
UPLOAD_EXCLUDES = [
    ".git",
    ".venv",
    "venv",
    "**/__pycache__",
    "*.pyc",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "node_modules",
]


def driver_runtime_env(address: RayAddress | None) -> dict[str, Any]:
    """The job-level `runtime_env` for a driver connecting to `address` (None: embedded)."""
    mode = settings.ship_code_mode()
    if mode not in ("auto", "path", "upload", "none"):
        msg = f"{SHIP_VAR}={mode!r}: use auto, path, upload or none"
        raise ClusterConnectionError(msg)
    if mode == "auto":
        mode = "path" if address is None or address.is_local else "upload"
    if mode == "none":
        return {}
    if mode == "path":
        return {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in driver_paths() if p)}}
    return upload_runtime_env()


@contextlib.contextmanager
def inherited_by_new_cluster(env_vars: Mapping[str, str]) -> Iterator[None]:
    """Set `env_vars` in this process while an embedded cluster starts, then restore them.

    The raylet, and so every worker it spawns, inherits them. Prefer this to a job
    `runtime_env` with `env_vars` for a cluster started here: those send every worker
    start through Ray's runtime-env agent, which roughly doubles a worker's start-up time.
    """
    saved = {key: os.environ.get(key) for key in env_vars}
    os.environ.update(env_vars)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def upload_runtime_env() -> dict[str, Any]:
    """`py_modules` with the project package plus the working directory's shipped files.

    The files are zipped into a private temporary folder (removed when this process
    exits); Ray uploads the zip and unpacks it as each worker's working directory.
    """
    import cosmos_curate

    package = Path(cosmos_curate.__file__).resolve().parent
    env: dict[str, Any] = {"py_modules": [str(package)], "excludes": list(UPLOAD_EXCLUDES)}
    working_dir = settings.working_dir()
    if working_dir.lower() != "none":
        folder = Path(working_dir).expanduser().resolve()
        if not folder.is_dir():
            msg = f"{WORKING_DIR_VAR}={working_dir!r} is not a folder (or set it to none)"
            raise ClusterConnectionError(msg)
        selection = shipped_files.select(folder, shipped_files.include_patterns())
        _log_selection(selection)
        env["working_dir"] = str(shipped_files.write_zip(selection, _zip_path()))
    logger.info("shipping the cosmos_curate package from %s", package)
    return env


def _zip_path() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="curate-ship-"))  # mode 0700
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder / "working_dir.zip"


def _log_selection(selection: shipped_files.Selection) -> None:
    logger.info(
        "shipping %d files (%s) from %s to the cluster (%s)",
        len(selection.files),
        format_bytes(selection.total_bytes),
        selection.root,
        selection.source,
    )
    if selection.secrets:
        logger.info(
            "not shipped, secret files (or links out of the folder): %s",
            ", ".join(selection.secrets),
        )


def driver_paths() -> list[str]:
    """The driver's own code folders (cwd and non-library `sys.path` entries), then `PYTHONPATH`.

    Never site-packages or the stdlib, which would leak this interpreter's packages into
    workers running another env's Python.
    """
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    paths = [os.getcwd()]
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        if not real or not os.path.isdir(real) or "-packages" in real:
            continue
        if any(real == p or real.startswith(p + os.sep) for p in prefixes):
            continue
        paths.append(real)
    existing = os.environ.get("PYTHONPATH", "")
    return [*dict.fromkeys(paths), existing] if existing else list(dict.fromkeys(paths))


__all__ = [
    "SHIP_VAR",
    "WORKING_DIR_VAR",
    "driver_paths",
    "driver_runtime_env",
    "upload_runtime_env",
]
