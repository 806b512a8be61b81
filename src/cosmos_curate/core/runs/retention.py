"""Retention: keep the newest runs, delete older run folders, and never anything else.

Only folders `find_runs` returns are candidates (a marker written by the run itself,
directly under the runs folder, no symlink followed). A run still in progress on this
machine (its process alive, no summary yet) is never removed.
"""

from __future__ import annotations

import logging
import shutil
import socket
from pathlib import Path

import psutil

from cosmos_curate.core.runs.find import find_runs
from cosmos_curate.core.runs.run import Run, read_marker

logger = logging.getLogger(__name__)


def clean_runs(keep: int, root: Path | None = None) -> list[Path]:
    """Remove all run folders but the `keep` started last; returns the removed folders."""
    runs = find_runs(root)
    removed = []
    for run in runs[: max(0, len(runs) - max(0, keep))]:
        if _in_progress(run):
            continue
        # Checked again right before removal: the folder may have been replaced meanwhile.
        if read_marker(run.folder) is None:
            continue
        try:
            shutil.rmtree(run.folder)
        except OSError as exc:
            logger.warning("could not remove the old run folder %s: %s", run.folder, exc)
            continue
        removed.append(run.folder)
    return removed


def _in_progress(run: Run) -> bool:
    record = read_marker(run.folder) or {}
    if run.summary.is_file() or record.get("host") != socket.gethostname():
        return False
    pid = record.get("pid")
    return isinstance(pid, int) and psutil.pid_exists(pid)
