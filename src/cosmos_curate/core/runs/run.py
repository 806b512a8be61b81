"""A run's identity and folder: minted once, created with the marker that says the tool owns it.

A run folder is `<runs folder>/<time>-<pipeline>-<random>`; the folder's name is the run id.
The first file in it is the marker `.curate-run.json` (id, pipeline, start time, tool
version, host and process), published durably before anything else is written. Only
folders carrying a marker whose id is the folder's own name count as runs: retention
deletes nothing else (an output folder, a cache, a run folder of an older version that
wrote no marker).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import attrs

from cosmos_curate import __version__
from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.storage import fsync_dir, parse_url, publish_json
from cosmos_curate.core.utils import settings

MARKER_FILE = ".curate-run.json"
RUN_LOG = "run.log"
RUN_SUMMARY = "summary.json"
MARKER_FORMAT = 1
FAILURES_FOLDER = "failures"
"""The folder of an output that holds each run's failure records, `<run id>.jsonl`."""


class RunFolderError(CurateError):
    """The run's folder could not be created under the runs folder (`CURATE_RUNS_DIR`)."""


@attrs.frozen
class Run:
    """One run: its id (the folder's name), pipeline, start time (epoch s) and folder."""

    id: str
    pipeline: str
    started: float
    folder: Path
    made: Path | None = None  # the highest folder `create_run` had to create above the run's

    @property
    def marker(self) -> Path:
        """The marker file that makes the folder the tool's own."""
        return self.folder / MARKER_FILE

    @property
    def log(self) -> Path:
        """The run's log (stderr as it was printed)."""
        return self.folder / RUN_LOG

    @property
    def summary(self) -> Path:
        """The run's summary (what `--json` prints)."""
        return self.folder / RUN_SUMMARY


def mint_run(pipeline: str, *, root: Path | None = None, started: float | None = None) -> Run:
    """A new run's id and folder path; nothing is written (see `create_run`)."""
    started = time.time() if started is None else started
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started))
    run_id = f"{stamp}-{pipeline}-{uuid.uuid4().hex[:6]}"
    base = settings.runs_root() if root is None else root
    return Run(id=run_id, pipeline=pipeline, started=started, folder=base / run_id)


def create_run(pipeline: str, *, root: Path | None = None) -> Run:
    """Mint a run and create its folder, the marker written (durably) before anything else.

    Raises `RunFolderError` naming the runs folder when it cannot be written.
    """
    run = mint_run(pipeline, root=root)
    base = run.folder.parent
    made = _first_missing(base)
    try:
        base.mkdir(parents=True, exist_ok=True)
        run.folder.mkdir()
        publish_json(run.marker, marker_record(run))
        fsync_dir(base)
    except OSError as exc:
        msg = f"cannot create a run folder in {base} (CURATE_RUNS_DIR): {exc.strerror or exc}"
        raise RunFolderError(msg) from exc
    return attrs.evolve(run, made=made)


def run_for(pipeline: str, run_dir: Path | str | None) -> Run:
    """The run a pipeline call belongs to: the one whose folder the caller passed, else new.

    The CLI creates the run and passes its folder (`run_dir`); a library caller who passes
    none gets a run created here, so every pipeline call has exactly one id and one folder,
    whichever way it started. A folder the caller made without a marker keeps its path and
    gets a fresh id (it is the caller's folder: nothing marks it as the tool's).
    """
    if run_dir is None:
        return create_run(pipeline)
    folder = Path(run_dir)
    found = read_run(folder)
    if found is not None:
        return found
    minted = mint_run(pipeline, root=folder.parent)
    return attrs.evolve(minted, folder=folder)


def failures_key(run: Run) -> str:
    """The key of the run's failure records inside its output folder."""
    return f"{FAILURES_FOLDER}/{run.id}.jsonl"


def failures_file(run: Run, output: str) -> Path:
    """Where the runtime writes the run's failure records (always a local file).

    For a local `output` (a path or `file://` URL): `<output>/failures/<run id>.jsonl`. For
    an output on object storage they are written in the run's folder, and the pipeline
    uploads them to `failures_key(run)` at the end.
    """
    location = parse_url(output)
    if location.is_local:
        return Path(location.path_of(failures_key(run)))
    return run.folder / "failures.jsonl"


def marker_record(run: Run) -> dict[str, Any]:
    """What the marker holds."""
    return {
        "format": MARKER_FORMAT,
        "id": run.id,
        "pipeline": run.pipeline,
        "started": run.started,
        "tool": "cosmos-curate",
        "tool_version": __version__,
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def read_run(folder: Path) -> Run | None:
    """The run whose folder `folder` is, or None when it is no run folder of ours.

    A run folder is a real folder (not a symlink) holding a regular-file marker whose id is
    the folder's name; anything else (an unreadable or foreign marker, a renamed or copied
    folder) is not the tool's to touch.
    """
    record = read_marker(folder)
    if record is None:
        return None
    return Run(
        id=record["id"], pipeline=record["pipeline"], started=record["started"], folder=folder
    )


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The marker's record if `folder` is a run folder (see `read_run`), else None."""
    try:
        if not _is_real_dir(folder) or not _is_real_file(folder / MARKER_FILE):
            return None
        record = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("id") != folder.name:
        return None
    if not isinstance(record.get("pipeline"), str):
        return None
    started = record.get("started")
    if not isinstance(started, int | float) or isinstance(started, bool):
        return None
    return record


def discard_run(run: Run) -> None:
    """Remove a run rejected before it started, so that a rejected command leaves nothing.

    Its folder goes, and the folders `create_run` made above it while they are empty.
    """
    if read_run(run.folder) is not None:
        shutil.rmtree(run.folder, ignore_errors=True)
    if run.made is None:
        return
    folder = run.folder.parent
    while True:
        try:
            folder.rmdir()
        except OSError:
            return  # something else lives there now: not ours to remove
        if folder == run.made:
            return
        folder = folder.parent


def _first_missing(folder: Path) -> Path | None:
    """The highest missing folder on the way to `folder` (None: it exists)."""
    missing = None
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def _is_real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _is_real_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()
