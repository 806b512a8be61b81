"""Finding run folders: only folders a run marked as its own, directly under the runs folder."""

from __future__ import annotations

import os
from pathlib import Path

from cosmos_curate.core.runs.run import Run, read_run
from cosmos_curate.core.utils import settings


def find_runs(root: Path | None = None) -> list[Run]:
    """Runs directly under `root` (default: the runs folder), oldest start first.

    Symlinks are never followed, folders are never searched below the first level, and a
    folder without a valid marker (an output folder, a cache, a run of an older version) is
    not a run.
    """
    base = settings.runs_root() if root is None else root
    try:
        entries = list(os.scandir(base))
    except (FileNotFoundError, NotADirectoryError):
        return []
    runs = [
        run
        for entry in entries
        if entry.is_dir(follow_symlinks=False) and (run := read_run(Path(entry.path))) is not None
    ]
    return sorted(runs, key=lambda run: (run.started, run.id))


def latest_run(root: Path | None = None, *, holding: str | None = None) -> Run | None:
    """The current user's run started last (among those with a file named `holding`).

    A runs folder shared by several users (`CURATE_RUNS_DIR`) holds their runs side by
    side: "the last run" is the newest folder this user owns.
    """
    runs = [run for run in find_runs(root) if owned_by_me(run.folder)]
    if holding is not None:
        runs = [run for run in runs if (run.folder / holding).is_file()]
    return runs[-1] if runs else None


def owned_by_me(path: Path) -> bool:
    """Whether the current user owns `path` (always true where there are no owners)."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return True
    try:
        return bool(path.stat(follow_symlinks=False).st_uid == getuid())
    except OSError:
        return False
