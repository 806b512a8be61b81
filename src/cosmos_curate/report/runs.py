"""Finding run folders for `curate report`: by path, by folder name, or the newest run.

"The last run" is the current user's newest run folder that the run itself marked
(`cosmos_curate.core.runs`) and that holds a series; a folder named explicitly (a path or
a name under the runs folder) only needs a series, so runs recorded before markers existed
still render.
"""

from __future__ import annotations

from pathlib import Path

from cosmos_curate.core import runs
from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.utils import settings
from cosmos_curate.report.series import REPORT_FILE, SERIES_FILE


class RunNotFoundError(CurateError):
    """A run named on the command line has no recorded series (or no run was recorded)."""


def resolve_run(name: str) -> Path:
    """A run folder from a path (folder, its series or its report) or a folder's name."""
    path = Path(name).expanduser()
    if path.is_file() and path.name in (SERIES_FILE, REPORT_FILE):
        path = path.parent
    if not path.is_dir():
        path = settings.runs_root() / name
    if not (path / SERIES_FILE).is_file():
        msg = (
            f"no recorded run at {name}: give a run folder holding {SERIES_FILE} "
            f"(runs are under {settings.runs_root()}; `curate report` alone shows the last)"
        )
        raise RunNotFoundError(msg)
    return path


def last_run() -> runs.Run:
    """The current user's most recently started run that recorded a series."""
    run = runs.latest_run(holding=SERIES_FILE)
    if run is None:
        msg = f"no recorded run of yours under {settings.runs_root()}: run a pipeline first"
        raise RunNotFoundError(msg)
    return run
