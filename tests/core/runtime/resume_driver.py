"""A driver for the resume test: writes one file per finished task, journals its progress."""

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


@attrs.define
class Job(PipelineTask):
    id: int


class Slow(CuratorStage[Job, Job]):
    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Job]) -> list[Job] | None:
        time.sleep(0.005 * len(tasks))
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
        [Slow(), Write(out, resume)],
        checkpoint_dir=checkpoint,
        resume=resume == "resume",
        num_cpus=2,
        metrics_port=None,
        collect_outputs=False,
    )
    print("finished", os.getpid())
