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
    """The last stage: one output file per task (idempotent) and a log of every write."""

    def __init__(self, out: Path) -> None:
        self.out = out

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Job]) -> list[Job] | None:
        for task in tasks:
            (self.out / f"{task.id}.done").write_text("ok")
            with (self.out.parent / "writes.log").open("a") as log:
                log.write(f"{task.id}\n")
        return None


if __name__ == "__main__":
    out, checkpoint, n, resume = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    out.mkdir(parents=True, exist_ok=True)
    run_pipeline(
        (Job(i) for i in range(n)),
        [Slow(), Write(out)],
        checkpoint_dir=checkpoint,
        resume=resume == "resume",
        num_cpus=2,
        metrics_port=None,
        collect_outputs=False,
    )
    print("finished", os.getpid())
