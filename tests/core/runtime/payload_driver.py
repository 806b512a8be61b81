"""Runs large-payload pipelines on a small embedded Ray of its own and prints what it saw.

    python -m tests.core.runtime.payload_driver

The object store is 200 MB. Prints one JSON object per scenario: outputs, peak object store
use sampled every 20 ms from Ray, spilled bytes, the run's byte budget and what the stages
checked about the arrays they received.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from typing import Any

import attrs
import numpy as np
import ray

from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)
from cosmos_curate.core.runtime.run_options import EngineOptions
from cosmos_curate.core.runtime.store_stats import object_store_use

MB = 2**20
STORE_BYTES = 200 * MB


@attrs.define
class Frames(PipelineTask):
    id: int
    frames: Any = None
    ok: bool = False
    readonly: bool = False


class Make(CuratorStage[Frames, Frames]):
    """Fast: fills an array of `mb` MB per task."""

    def __init__(self, mb: int) -> None:
        self.mb = mb

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Frames]) -> list[Frames] | None:
        for task in tasks:
            task.frames = np.full(self.mb * MB, task.id % 251, dtype=np.uint8)
        return tasks


class Slow(CuratorStage[Frames, Frames]):
    """Slow: checks the array it got, then drops it (the outputs stay small)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Frames]) -> list[Frames] | None:
        time.sleep(self.seconds * len(tasks))
        for task in tasks:
            frames = task.frames
            task.ok = bool(frames is not None and frames[0] == frames[-1] == task.id % 251)
            task.readonly = bool(frames is not None and not frames.flags.writeable)
            task.frames = None
        return tasks


def _sampled(run: Any) -> dict[str, Any]:
    """Run `run()` while sampling the object store's use every 20 ms."""
    peak = {"used": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            use = object_store_use()
            if use is not None:
                peak["used"] = max(peak["used"], use.used_bytes)
            time.sleep(0.02)

    before = object_store_use()
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.monotonic()
    try:
        result = run()
    finally:
        stop.set()
        thread.join()
    after = object_store_use()
    spilled = (after.spilled_bytes - before.spilled_bytes) if after and before else -1
    outputs = result.outputs
    return {
        "outputs": len(outputs),
        "ids": sorted(t.id for t in outputs),
        "all_ok": all(t.ok for t in outputs),
        "all_readonly": all(t.readonly for t in outputs),
        "peak_bytes": peak["used"],
        "spilled_bytes": spilled,
        "budget_bytes": result.progress.byte_budget_bytes,
        "reported_peak": result.progress.object_store_peak_bytes,
        "wait_s": [s.backpressure_wait_s for s in result.progress.stages],
        "wall_s": time.monotonic() - start,
    }


def scenario(n_tasks: int, mb: int, fraction: float) -> dict[str, Any]:
    """A fast stage making `mb` MB per task in front of a slow one."""
    return _sampled(
        lambda: execute_pipeline(
            [Frames(i) for i in range(n_tasks)],
            [Make(mb), Slow(0.15)],
            metrics_port=None,
            check_weights=False,
            engine_options=EngineOptions(object_store_fraction=fraction),
        )
    )


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    ray.init(
        address="local",
        num_cpus=2,
        object_store_memory=STORE_BYTES,
        include_dashboard=False,
        logging_level=logging.WARNING,
    )
    try:
        results = {
            "budgeted": scenario(24, 20, 0.5),
            "oversized": scenario(3, 60, 0.2),
        }
    finally:
        ray.shutdown()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
