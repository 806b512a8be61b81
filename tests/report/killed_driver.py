"""A driver that runs a slow pipeline and says when it has run a while.

It joins `RAY_ADDRESS` when set, else starts an embedded Ray (2 CPUs).
"""

from __future__ import annotations

import time

import attrs

from cosmos_curate.core.interfaces.pipeline_interface import run_pipeline
from cosmos_curate.core.interfaces.results import PipelineProgress
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)

RUN_FOR_S = 4.0


@attrs.define
class Tick(PipelineTask):
    id: int


class Slow(CuratorStage[Tick, Tick]):
    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Tick]) -> list[Tick] | None:
        time.sleep(0.02 * len(tasks))
        return tasks


def announce(progress: PipelineProgress) -> None:
    if progress.outputs and progress.elapsed_s > RUN_FOR_S:
        print("running", flush=True)


if __name__ == "__main__":
    run_pipeline(
        (Tick(i) for i in range(1_000_000)),
        [Slow(), Slow()],
        num_cpus=2,
        metrics_port=None,
        progress_callbacks=[announce],
    )
