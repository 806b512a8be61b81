"""A driver that runs a slow pipeline on an embedded Ray until interrupted."""

from __future__ import annotations

import sys
import time

import attrs

from cosmos_curate.core.interfaces.pipeline_interface import run_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)


@attrs.define
class Tick(PipelineTask):
    id: int


class Slow(CuratorStage[Tick, Tick]):
    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Tick]) -> list[Tick] | None:
        time.sleep(0.1)
        return tasks


def announce(progress: object) -> None:
    if getattr(progress, "outputs", 0):
        print("running", flush=True)


if __name__ == "__main__":
    try:
        run_pipeline(
            (Tick(i) for i in range(100_000)),
            [Slow(), Slow()],
            num_cpus=2,
            metrics_port=None,
            progress_callbacks=[announce],
        )
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
