"""Replay a saved stage in this process, without Ray, and compare its outputs with the saved.

`find_stage_save` turns what the user named (a run id, a run folder, or `last`) into a
stage's save folder; `replay_stage` loads the stage (its class from the code as it is now),
runs `setup_on_node` and `setup`, then `process_data` on each saved call's inputs in the
stage's batch size, and diffs the outputs against the saved ones (`task_diff`). Nothing is
loaded from a folder without the manifest its run wrote (see `saved_stage`).
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from cosmos_curate.core import runs
from cosmos_curate.core.interfaces.stage_interface import CuratorStage, NodeInfo, WorkerMetadata
from cosmos_curate.core.runtime.errors import SavedStageError, StageReplayError
from cosmos_curate.core.runtime.saved_stage import (
    MANIFEST,
    SAVE_FOLDER,
    STAGE_FILE,
    SavedCall,
    call_file,
    read_manifest,
    saved_calls,
    saved_stages,
    source_fingerprint,
    stage_folder,
)
from cosmos_curate.core.runtime.task_diff import Difference, diff_tasks
from cosmos_curate.core.utils import settings

LAST = "last"


@attrs.frozen
class CallReplay:
    """One saved call replayed: tasks in, outputs then and now, and where they differ."""

    index: int
    tasks_in: int
    saved_out: int
    new_out: int
    differences: tuple[Difference, ...]


@attrs.frozen
class ReplayResult:
    """A stage's replay: its save folder, whether its source changed, each call's outcome."""

    stage: str
    folder: Path
    source_changed: bool
    calls: tuple[CallReplay, ...]

    @property
    def differs(self) -> bool:
        """Whether any call's outputs differ from the saved ones."""
        return any(call.differences for call in self.calls)


def find_stage_save(run: str, stage: str) -> Path:
    """The save folder of `stage` in the run named `run` (an id, a folder, or `last`).

    Raises `SavedStageError` naming what is missing; `last` is the current user's newest
    run that saved `stage`.
    """
    if run == LAST:
        found = runs.latest_run(holding=f"{SAVE_FOLDER}/{stage}/{MANIFEST}")
        if found is None:
            msg = (
                f"no run of yours under {settings.runs_root()} saved stage {stage}: "
                f"run the pipeline with --stage-save {stage} first"
            )
            raise SavedStageError(msg)
        return stage_folder(found.folder, stage)
    path = Path(run).expanduser()
    if not path.is_dir():
        path = settings.runs_root() / run
    if not path.is_dir():
        msg = f"no run {run}: give a run id (under {settings.runs_root()}), a run folder or `last`"
        raise SavedStageError(msg)
    folder = stage_folder(path, stage)
    if not (folder / MANIFEST).is_file():
        saved = saved_stages(path)
        also = f" (it saved: {', '.join(saved)})" if saved else ""
        msg = f"{folder} holds no stage save ({MANIFEST} missing){also}; nothing was loaded"
        raise SavedStageError(msg)
    return folder


def replay_stage(
    folder: Path,
    *,
    index: int | None = None,
    atol: float = 0.0,
    on_call: Callable[[CallReplay], None] | None = None,
) -> ReplayResult:
    """Replay the saved calls in `folder` (only call `index` when given); see the module doc.

    `StageReplayError` (its cause: the stage's exception) when setup or `process_data`
    raises; `SavedStageError` for a folder without a manifest or a call it lacks.
    """
    manifest = read_manifest(folder)  # before anything is unpickled
    indices = _chosen(folder, manifest["stage"], index)
    stage = _load_stage(folder)
    name = manifest["stage"]
    changed = source_fingerprint(type(stage))["source_sha256"] != manifest["code"].get(
        "source_sha256"
    )
    metadata = WorkerMetadata(worker_id="replay", stage_name=name, node_id="local")
    _guarded(name, "setup", lambda: _setup(stage, metadata))
    replays = []
    try:
        for number in indices:
            replay = _replay_call(stage, name, folder, number, manifest["spec"]["batch_size"], atol)
            replays.append(replay)
            if on_call is not None:
                on_call(replay)
    finally:
        stage.destroy()
    return ReplayResult(name, folder, changed, tuple(replays))


def _chosen(folder: Path, name: str, index: int | None) -> list[int]:
    indices = saved_calls(folder)
    if not indices:
        msg = f"{folder}: no call of {name} was saved (the run may have ended before one came back)"
        raise SavedStageError(msg)
    if index is None:
        return indices
    if index not in indices:
        msg = f"--index {index}: {name} has saved calls {indices[0]} to {indices[-1]}"
        raise SavedStageError(msg)
    return [index]


def _load_stage(folder: Path) -> CuratorStage[Any, Any]:
    from cosmos_curate.core.runtime.wire import load_stage

    return load_stage((folder / STAGE_FILE).read_bytes())


def _setup(stage: CuratorStage[Any, Any], metadata: WorkerMetadata) -> None:
    stage.setup_on_node(NodeInfo(metadata.node_id), metadata)
    stage.setup(metadata)


def _guarded(name: str, what: str, work: Callable[[], Any]) -> Any:
    """`work()`, its exception turned into a `StageReplayError` naming the stage."""
    try:
        return work()
    except Exception as exc:
        msg = f"stage {name}: {what} raised {type(exc).__name__}: {exc}"
        raise StageReplayError(msg) from exc


def _replay_call(  # noqa: PLR0917 - one saved call and how to run it
    stage: CuratorStage[Any, Any], name: str, folder: Path, number: int, batch: int, atol: float
) -> CallReplay:
    from cosmos_curate.core.runtime.wire import loads

    # Only reached for a folder whose manifest its run wrote (read_manifest above).
    saved: SavedCall = pickle.loads(call_file(folder, number).read_bytes())
    tasks = [t for blob, (a, b) in saved.inputs for t in loads(blob, copy=True)[a:b]]
    expected = [t for blob in saved.outputs for t in loads(blob, copy=True)]
    outputs: list[Any] = []
    for start in range(0, len(tasks), batch):
        work = tasks[start : start + batch]
        result = _guarded(
            name, f"process_data (saved call {number})", functools.partial(stage.process_data, work)
        )
        if result is not None and not isinstance(result, list):
            msg = f"stage {name}: process_data returned {type(result).__name__}, not a list or None"
            raise StageReplayError(msg)
        outputs.extend(result or [])
    differences = tuple(diff_tasks(expected, outputs, atol))
    return CallReplay(number, len(tasks), len(expected), len(outputs), differences)
