"""The printer the driver uses for its Ray workers' output, put in Ray's place when Ray is used.

A caller (the `curate` command) chooses a printer for a run with `use_printer`; it replaces
Ray's own (`ray._private.worker.print_to_stdstream`) at once if Ray is already imported,
else when the run connects to Ray (`ray_connection.connect` calls `install`). So a run that
never uses Ray (video-dedup in one process) does not import Ray for it (~0.8 s).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

Printer = Callable[..., None]

_chosen: Printer | None = None
_ray_own: Printer | None = None


def use_printer(printer: Printer) -> None:
    """Show workers' output with `printer` (Ray's signature) until `restore`."""
    global _chosen  # noqa: PLW0603 - one printer per process, as Ray has one
    _chosen = printer
    if "ray._private.worker" in sys.modules:
        install()


def install() -> None:
    """Put the chosen printer in Ray's place (nothing chosen: nothing changes)."""
    global _ray_own  # noqa: PLW0603
    if _chosen is None:
        return
    from ray._private import worker

    if _ray_own is None:
        _ray_own = worker.print_to_stdstream
    worker.print_to_stdstream = _chosen


def restore() -> None:
    """Ray's own printer back (if it was replaced); no printer chosen."""
    global _chosen, _ray_own  # noqa: PLW0603
    if _ray_own is not None:
        worker: Any = sys.modules["ray._private.worker"]
        worker.print_to_stdstream = _ray_own
    _chosen = _ray_own = None
