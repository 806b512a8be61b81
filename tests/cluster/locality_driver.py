"""Driver for the locality test and benchmark: chunks made on a node, consumed where?

    python locality_driver.py RESULT.json --address ADDR [--tasks N] [--mb M] [--stages S]
        [--sleep S] [--sleep-after S] [--no-locality] [--locality-wait S]

Each of `--stages` stages runs one worker per node; every stage fills (first) or touches an
array of M MB and records the node it ran on. Writes {"wall_s", "pairs": [[producer node,
consumer node], ...], "cross_node_bytes", "local_bytes", "outputs"} to RESULT.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    CuratorStageSpec,
    PipelineTask,
)
from cosmos_curate.core.runtime.run_options import EngineOptions

MB = 2**20


@attrs.define
class Clip(PipelineTask):
    id: int
    frames: Any = None
    nodes: list[str] = attrs.field(factory=list)


class Touch(CuratorStage[Clip, Clip]):
    """Makes (first stage) or reads the clip's array, sleeps, records its node."""

    def __init__(self, label: str, mb: int, sleep_s: float, last: bool) -> None:
        self.label, self.mb, self.sleep_s, self.last = label, mb, sleep_s, last

    @property
    def name(self) -> str:
        return self.label

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Clip]) -> list[Clip] | None:
        import ray

        node = ray.get_runtime_context().get_node_id()
        time.sleep(self.sleep_s * len(tasks))
        for task in tasks:
            if task.frames is None:
                task.frames = np.full(self.mb * MB, task.id % 251, dtype=np.uint8)
            else:
                assert task.frames[0] == task.id % 251
            task.nodes.append(node)
            if self.last:
                task.frames = None  # the driver keeps only the trail
        return tasks


def _engine_options(args: argparse.Namespace) -> EngineOptions:
    if args.locality_wait is None:
        return EngineOptions(locality=not args.no_locality)
    return EngineOptions(locality=not args.no_locality, locality_wait_s=args.locality_wait)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("result")
    parser.add_argument("--address", required=True)
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--mb", type=int, default=1)
    parser.add_argument("--stages", type=int, default=2)
    parser.add_argument("--sleep", type=float, default=0.02, help="first stage, per task")
    parser.add_argument("--sleep-after", type=float, default=0.0, help="later stages")
    parser.add_argument("--no-locality", action="store_true")
    parser.add_argument(
        "--locality-wait", type=float, default=None, help="EngineOptions.locality_wait_s"
    )
    args = parser.parse_args()
    specs = [
        CuratorStageSpec(
            Touch(
                f"s{i}", args.mb, args.sleep if i == 0 else args.sleep_after, i == args.stages - 1
            ),
            num_workers_per_node=1,
        )
        for i in range(args.stages)
    ]
    start = time.monotonic()
    result = execute_pipeline(
        (Clip(i) for i in range(args.tasks)),
        specs,
        ray_address=args.address,
        metrics_port=None,
        check_weights=False,
        engine_options=_engine_options(args),
    )
    wall = time.monotonic() - start
    pairs = [
        [task.nodes[i], task.nodes[i + 1]]
        for task in result.outputs
        for i in range(len(task.nodes) - 1)
    ]
    payload = {
        "wall_s": wall,
        "outputs": result.num_outputs,
        "pairs": pairs,
        "cross_node_bytes": result.progress.cross_node_bytes,
        "local_bytes": result.progress.local_bytes,
        "spilled_bytes": result.progress.spilled_bytes,
        "peak_store_bytes": result.progress.object_store_peak_bytes,
    }
    Path(args.result).write_text(json.dumps(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
