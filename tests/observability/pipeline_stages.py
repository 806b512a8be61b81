"""The stages of the pipeline the metrics tests watch (a module Ray workers can import)."""

from __future__ import annotations

import os
import time

import attrs

from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)

STAGE_NAMES = ("ReadStage", "GpuStage", "WriteStage")


@attrs.define
class Blob(PipelineTask):
    """A task with a payload, so that deserialization has bytes to count."""

    id: int
    payload: bytes = b""


class ReadStage(CuratorStage[Blob, Blob]):
    """CPU stage that attaches a 4 KiB payload."""

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=1.0)

    def process_data(self, tasks: list[Blob]) -> list[Blob] | None:
        for task in tasks:
            time.sleep(0.01)
            task.payload = os.urandom(4096)
        return tasks


class GpuStage(CuratorStage[Blob, Blob]):
    """Half of the (declared) GPU per worker: the GPU-share metric's subject."""

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5, gpus=0.5)

    def process_data(self, tasks: list[Blob]) -> list[Blob] | None:
        time.sleep(0.03 * len(tasks))
        return tasks


class WriteStage(CuratorStage[Blob, Blob]):
    """CPU stage that drops the payload."""

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Blob]) -> list[Blob] | None:
        for task in tasks:
            time.sleep(0.005)
            task.payload = b""
        return tasks
