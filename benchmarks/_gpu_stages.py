"""The stages of `bench_gpu_packing.py`, for cosmos-curate and for Ray Data."""

from __future__ import annotations

import os
import time
from typing import Any

import attrs
from _common import BenchTask

from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource

CPU_COST, GPU_COST = 0.002, 0.020


@attrs.define
class Stamped(BenchTask):
    pid: int = 0
    start: float = 0.0
    end: float = 0.0


class Prepare(CuratorStage[Stamped, Stamped]):
    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Stamped]) -> list[Stamped] | None:
        time.sleep(CPU_COST * len(tasks))
        return tasks


class Infer(CuratorStage[Stamped, Stamped]):
    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.1, gpus=0.25)

    def process_data(self, tasks: list[Stamped]) -> list[Stamped] | None:
        for task in tasks:
            task.start = time.time()
            time.sleep(GPU_COST)
            task.end = time.time()
            task.pid = os.getpid()
        return tasks


class RayDataInfer:
    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        starts, ends = [], []
        for _ in batch["id"]:
            starts.append(time.time())
            time.sleep(GPU_COST)
            ends.append(time.time())
        batch["start"], batch["end"] = starts, ends
        batch["pid"] = [os.getpid()] * len(starts)
        return batch


class RayDataPrepare:
    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        time.sleep(CPU_COST * len(batch["id"]))
        return batch
