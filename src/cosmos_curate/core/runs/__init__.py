"""A run, owned by the library: its id, folder and marker, its records, finding and retention.

`create_run` mints a run and creates its folder with the marker `.curate-run.json`; only
folders carrying a marker the run wrote, directly under the runs folder, are found
(`find_runs`, `latest_run`) or ever deleted (`clean_runs`).
"""

from cosmos_curate.core.runs.find import find_runs, latest_run
from cosmos_curate.core.runs.retention import clean_runs
from cosmos_curate.core.runs.run import (
    FAILURES_FOLDER,
    MARKER_FILE,
    RUN_LOG,
    RUN_SUMMARY,
    Run,
    RunFolderError,
    create_run,
    discard_run,
    failures_file,
    failures_key,
    mint_run,
    read_run,
    run_for,
)
from cosmos_curate.core.runs.summary import run_summary, save_run

__all__ = [
    "FAILURES_FOLDER",
    "MARKER_FILE",
    "RUN_LOG",
    "RUN_SUMMARY",
    "Run",
    "RunFolderError",
    "clean_runs",
    "create_run",
    "discard_run",
    "failures_file",
    "failures_key",
    "find_runs",
    "latest_run",
    "mint_run",
    "read_run",
    "run_for",
    "run_summary",
    "save_run",
]
