"""`--stage-save`: the driver keeps a sample of chosen stages' calls in the run folder.

The driver already holds every call's input chunks and output parts (by reference); for a
sampled call it fetches those `WireBlob`s as they are, never unpickling a task, and
publishes them as one `SavedCall` file (layout in `saved_stage`). A call is saved when it
comes back, before its failures are handled, so the call that stops a run is kept too.
Saving costs the driver the fetch and the write of the sampled calls only.
"""

from __future__ import annotations

import logging
import pickle
import time
from pathlib import Path
from typing import Any

import ray

from cosmos_curate.core.runtime.run_state import InFlightCall
from cosmos_curate.core.runtime.saved_stage import (
    MANIFEST,
    STAGE_FILE,
    EvenSampler,
    SavedCall,
    call_file,
    manifest_record,
    manifest_text,
    stage_folder,
)
from cosmos_curate.core.runtime.stage_spec import ResolvedStage
from cosmos_curate.core.runtime.wire import CallReport, WireBlob, dump_stage
from cosmos_curate.core.storage import publish_bytes, publish_text

logger = logging.getLogger(__name__)


class StageSaver:
    """Saves sampled calls of the stages named in `names` under `run_dir`."""

    def __init__(
        self, stages: list[ResolvedStage], names: tuple[str, ...], rate: float, run_dir: Path
    ) -> None:
        self._folders: dict[int, Path] = {}
        self._samplers: dict[int, EvenSampler] = {}
        self._counts: dict[int, int] = {}
        self._names: dict[int, str] = {}
        for stage in stages:
            if stage.name not in names:
                continue
            folder = stage_folder(run_dir, stage.name)
            publish_bytes(folder / STAGE_FILE, dump_stage(stage.stage))
            # The manifest last: a folder with one holds a whole stage save.
            record = manifest_record(stage, run_dir, rate)
            publish_text(folder / MANIFEST, manifest_text(record))
            self._folders[stage.index] = folder
            self._samplers[stage.index] = EvenSampler(rate)
            self._counts[stage.index] = 0
            self._names[stage.index] = stage.name

    @property
    def folders(self) -> list[Path]:
        """The stages' save folders."""
        return list(self._folders.values())

    def offer(self, call: InFlightCall, report: CallReport) -> None:
        """Save `call` if its stage is saved and the sampler picks it."""
        sampler = self._samplers.get(call.stage)
        if sampler is None or not sampler.take():
            return
        inputs = tuple((_blob(chunk.data), chunk.span) for chunk in call.chunks)
        outputs = tuple(ray.get(call.part_refs)) if call.part_refs else ()
        saved = SavedCall(
            stage=self._names[call.stage],
            inputs=inputs,
            outputs=outputs,
            tasks_in=report.tasks_in,
            failed=len(report.failures),
            saved_at=time.time(),
        )
        index = self._counts[call.stage]
        self._counts[call.stage] = index + 1
        publish_bytes(call_file(self._folders[call.stage], index), pickle.dumps(saved, protocol=5))


def _blob(data: Any) -> WireBlob:
    blob: WireBlob = ray.get(data) if isinstance(data, ray.ObjectRef) else data
    return blob
