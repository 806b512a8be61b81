"""A driver for the resume test: writes one file per finished task, journals its progress.

It joins the cluster `RAY_ADDRESS` names (the test's session cluster).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import attrs

from cosmos_curate.core.interfaces.pipeline_interface import run_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)

HOLD_S = 120.0


@attrs.define
class Job(PipelineTask):
    id: int


class Slow(CuratorStage[Job, Job]):
    """5 ms a task; tasks from `hold_from` on are held (2 min) so the run is surely mid-way
    when the test kills its driver, however loaded the machine."""

    def __init__(self, hold_from: int | None) -> None:
        self.hold_from = hold_from

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Job]) -> list[Job] | None:
        time.sleep(0.005 * len(tasks))
        if self.hold_from is not None and any(t.id >= self.hold_from for t in tasks):
            time.sleep(HOLD_S)
        return tasks


class Write(CuratorStage[Job, Job]):
    """The last stage: one output file per task (idempotent) and a log of every write.

    Each log line names the run that wrote it: a killed driver's workers can outlive it for a
    moment and finish the tasks they hold while the resumed run starts.
    """

    def __init__(self, out: Path, run: str) -> None:
        self.out, self.run = out, run

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Job]) -> list[Job] | None:
        for task in tasks:
            (self.out / f"{task.id}.done").write_text("ok")
            with (self.out.parent / "writes.log").open("a") as log:
                log.write(f"{self.run} {task.id}\n")
        return None


if __name__ == "__main__":
    out, checkpoint, n, resume = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    out.mkdir(parents=True, exist_ok=True)
    run_pipeline(
        (Job(i) for i in range(n)),
        # The fresh run holds the second half of the input; the resumed one holds nothing.
        [Slow(n // 2 if resume == "fresh" else None), Write(out, resume)],
        checkpoint_dir=checkpoint,
        resume=resume == "resume",
        metrics_port=None,
        collect_outputs=False,
    )
    print("finished", os.getpid())
