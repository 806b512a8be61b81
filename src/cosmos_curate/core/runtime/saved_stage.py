"""A stage save on disk: its layout, manifest, sampling and the checks on a request. No Ray.

`--stage-save STAGE` (`RunOptions.stage_save`) keeps a sample of a stage's calls in the run
folder, one folder per stage:

    <run folder>/stage_save/<stage>/MANIFEST.txt      first line: the trust warning; then JSON
                                    stage.pkl         the stage object (`wire.dump_stage`)
                                    000000.call.pkl   one sampled call: inputs and outputs
                                    ...

A call file is a `SavedCall` pickled whole: its inputs as the chunks the worker got (the
runtime's `WireBlob`s with the span it took of each) and its outputs as the parts it sent
on. Every file here is a pickle, so loading one runs code: replay reads a folder only when
its manifest (written by the run itself) is there, and only a folder the user names.
"""

from __future__ import annotations

import datetime
import hashlib
import inspect
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from cosmos_curate import __version__
from cosmos_curate.core.runtime.errors import SavedStageError, StageSaveError

if TYPE_CHECKING:
    from cosmos_curate.core.runtime.stage_spec import ResolvedStage
    from cosmos_curate.core.runtime.wire import WireBlob

SAVE_FOLDER = "stage_save"
MANIFEST = "MANIFEST.txt"
STAGE_FILE = "stage.pkl"
CALL_SUFFIX = ".call.pkl"
MANIFEST_FORMAT = 1
TRUST_LINE = (
    "TRUSTED INPUT ONLY: the .pkl files beside this manifest are Python pickles and loading "
    "one runs code; replay only a folder you made or trust."
)
_CALL_NAME = re.compile(r"^(\d{6})" + re.escape(CALL_SUFFIX) + "$")


def stage_folder(run_dir: Path, stage_name: str) -> Path:
    """Where a run keeps the saved calls of `stage_name`."""
    return run_dir / SAVE_FOLDER / stage_name


def call_file(folder: Path, index: int) -> Path:
    """The file of saved call number `index` in a stage's folder."""
    return folder / f"{index:06d}{CALL_SUFFIX}"


@attrs.frozen
class SavedCall:
    """One sampled call of a stage, as the worker got it and as it answered.

    `inputs`: each input chunk's `WireBlob` and the `(start, stop)` span the call took of it;
    `outputs`: the output parts' `WireBlob`s (tasks that failed every attempt are not in
    them: `failed` counts them).
    """

    stage: str
    inputs: tuple[tuple[WireBlob, tuple[int, int]], ...]
    outputs: tuple[WireBlob, ...]
    tasks_in: int
    failed: int
    saved_at: float


def check_request(stage_names: Sequence[str], wanted: Sequence[str], rate: float) -> None:
    """Reject, before anything starts, a save of stages the pipeline lacks or a bad rate."""
    unknown = [name for name in wanted if name not in stage_names]
    if unknown:
        msg = (
            f"--stage-save: no stage named {', '.join(unknown)} in this pipeline; "
            f"its stages: {', '.join(stage_names)}"
        )
        raise StageSaveError(msg)
    if not 0 < rate <= 1:
        msg = f"--stage-save-sample-rate {rate}: give a share in (0, 1], e.g. 0.1"
        raise StageSaveError(msg)


@attrs.define
class EvenSampler:
    """Picks calls evenly at `rate`: the first call, then one in every 1/rate.

    Deterministic, so that two runs over the same input save the same calls.
    """

    rate: float
    _credit: float = 1.0

    def take(self) -> bool:
        """Whether to save the next call."""
        if self._credit >= 1.0:
            self._credit += self.rate - 1.0
            return True
        self._credit += self.rate
        return False


def manifest_record(stage: ResolvedStage, run_dir: Path, rate: float) -> dict[str, Any]:
    """What a stage's manifest says: the stage, its resolved spec, the code, the time."""
    cls = type(stage.stage)
    return {
        "format": MANIFEST_FORMAT,
        "stage": stage.name,
        "position": stage.index,
        "class": f"{cls.__module__}:{cls.__qualname__}",
        "spec": {
            "batch_size": stage.batch_size,
            "run_attempts": stage.run_attempts,
            "cpus": stage.cpus,
            "gpus": stage.gpus,
            "declared_gpus": stage.declared_gpus,
            "ignore_failures": stage.ignore_failures,
            "conda_env": stage.stage.conda_env_name,
        },
        "code": {"tool_version": __version__, **source_fingerprint(cls)},
        "run_folder": str(run_dir),
        "sample_rate": rate,
        "saved_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def source_fingerprint(cls: type) -> dict[str, str | None]:
    """The file defining `cls` and a hash of its text (None where there is no file)."""
    try:
        path = inspect.getsourcefile(cls)
    except TypeError:
        path = None
    if path is None:
        return {"source": None, "source_sha256": None}
    try:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        digest = None
    return {"source": path, "source_sha256": digest}


def manifest_text(record: dict[str, Any]) -> str:
    """The manifest file: the trust warning on its first line, then the record as JSON."""
    return TRUST_LINE + "\n" + json.dumps(record, indent=2, sort_keys=True) + "\n"


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a stage's save folder; `SavedStageError` when it is none of ours."""
    path = folder / MANIFEST
    try:
        first, _, rest = path.read_text(encoding="utf-8").partition("\n")
    except OSError:
        msg = (
            f"{folder} holds no stage save ({MANIFEST} missing): replay reads only folders "
            "a run with --stage-save wrote"
        )
        raise SavedStageError(msg) from None
    try:
        record = json.loads(rest) if first == TRUST_LINE else None
    except ValueError:
        record = None
    if not isinstance(record, dict) or record.get("format") != MANIFEST_FORMAT:
        msg = f"{path} is not a stage-save manifest of this version; nothing was loaded"
        raise SavedStageError(msg)
    return record


def saved_calls(folder: Path) -> list[int]:
    """The numbers of the calls saved in a stage's folder, in order."""
    return sorted(
        int(match.group(1))
        for entry in folder.iterdir()
        if (match := _CALL_NAME.match(entry.name)) and entry.is_file()
    )


def saved_stages(run_dir: Path) -> list[str]:
    """The stages a run saved (folders with a manifest), in name order."""
    base = run_dir / SAVE_FOLDER
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / MANIFEST).is_file())
