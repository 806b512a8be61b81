"""Video-sized payloads (issue #15): a fast stage making big arrays in front of a slow one.

Two stages: make an N MB numpy array per task; sleep 0.1 s per task (and drop the array,
so outputs stay small). Each row runs on a fresh local Ray with the given object store
size and 2 CPUs, ours and Ray Data's (`map_batches` with autoscaling actor pools, its
default batch size and memory limits) in the same process. Object store use is sampled
from Ray every 20 ms (primary copies: live objects; Ray keeps freed objects cached until
it needs room, which never spills); spilled bytes are Ray's own counter.

    python benchmarks/bench_payloads.py [--quick] [--skip-ray-data]
"""

from __future__ import annotations

import argparse
import functools
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import ray
from _common import BENCH_DIR, ROOT_DIR, inherited_by_new_cluster, machine

from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)
from cosmos_curate.core.runtime.store_stats import object_store_use
from cosmos_curate.presentation.format import format_bytes

MB = 2**20
SLEEP_S = 0.1
CPUS = 2
# (object store MB, payload MB, tasks): task counts scaled down for big payloads (time).
ROWS = [(400, 10, 100), (400, 100, 40), (400, 300, 16), (2048, 100, 40), (2048, 300, 16)]
QUICK_ROWS = [(400, 10, 40), (400, 100, 20), (2048, 300, 8)]


@attrs.define
class Clip(PipelineTask):
    id: int
    frames: Any = None
    ok: bool = False


class Make(CuratorStage[Clip, Clip]):
    def __init__(self, mb: int) -> None:
        self.mb = mb

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=1)

    def process_data(self, tasks: list[Clip]) -> list[Clip] | None:
        for task in tasks:
            task.frames = np.full(self.mb * MB, task.id % 251, dtype=np.uint8)
        return tasks


class Sleep(CuratorStage[Clip, Clip]):
    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=1)

    def process_data(self, tasks: list[Clip]) -> list[Clip] | None:
        time.sleep(SLEEP_S * len(tasks))
        for task in tasks:
            task.ok = bool(task.frames[0] == task.id % 251)
            task.frames = None
        return tasks


class RayDataMake:
    def __init__(self, mb: int) -> None:
        self.mb = mb

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        ids = batch["id"]
        frames = np.stack([np.full(self.mb * MB, i % 251, dtype=np.uint8) for i in ids])
        return {"id": ids, "frames": frames}


class RayDataSleep:
    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        time.sleep(SLEEP_S * len(batch["id"]))
        ok = np.array([f[0] == i % 251 for i, f in zip(batch["id"], batch["frames"], strict=True)])
        return {"id": batch["id"], "ok": ok}


@attrs.frozen
class Measured:
    wall_s: float
    peak_bytes: int
    spilled_bytes: int
    outputs: int


def measured(run: Callable[[], int]) -> Measured:
    """Run while sampling the object store every 20 ms."""
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            use = object_store_use()
            if use is not None:
                peak[0] = max(peak[0], use.used_bytes)
            time.sleep(0.02)

    before = object_store_use()
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    try:
        outputs = run()
    finally:
        wall = time.perf_counter() - start
        stop.set()
        thread.join()
    after = object_store_use()
    spilled = after.spilled_bytes - before.spilled_bytes if after and before else -1
    return Measured(wall, peak[0], spilled, outputs)


def run_ours(n: int, mb: int) -> int:
    result = execute_pipeline(
        (Clip(i) for i in range(n)), [Make(mb), Sleep()], metrics_port=None, check_weights=False
    )
    assert all(t.ok for t in result.outputs)
    return result.num_outputs


def run_ray_data(n: int, mb: int) -> int:
    import ray.data

    ds = ray.data.from_items([{"id": i} for i in range(n)])
    ds = ds.map_batches(RayDataMake, fn_constructor_args=(mb,), concurrency=(1, CPUS))
    ds = ds.map_batches(RayDataSleep, concurrency=(1, CPUS))
    count = 0
    for batch in ds.iter_batches(batch_size=None):
        assert batch["ok"].all()
        count += len(batch["id"])
    return count


def start(store_mb: int) -> None:
    with inherited_by_new_cluster({"PYTHONPATH": f"{BENCH_DIR}:{ROOT_DIR}"}):
        ray.init(
            address="local",
            num_cpus=CPUS,
            object_store_memory=store_mb * MB,
            include_dashboard=False,
            logging_level="ERROR",
            log_to_driver=False,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-ray-data", action="store_true")
    args = parser.parse_args()
    lines = [
        f"machine: {machine()}; date: {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        "| store | payload | tasks | ours s | Ray Data s | Ray Data / ours | ours peak store "
        "| Ray Data peak store | ours spilled | Ray Data spilled |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for store_mb, mb, n in QUICK_ROWS if args.quick else ROWS:
        start(store_mb)
        try:
            ours = measured(functools.partial(run_ours, n, mb))
            peer = None
            if not args.skip_ray_data:
                peer = measured(functools.partial(run_ray_data, n, mb))
        finally:
            ray.shutdown()
        assert ours.outputs == n and (peer is None or peer.outputs == n)
        ratio = f"{peer.wall_s / ours.wall_s:.2f}x" if peer else "-"
        lines.append(
            f"| {store_mb} MB | {mb} MB | {n} | {ours.wall_s:.1f} | "
            f"{peer.wall_s if peer else float('nan'):.1f} | {ratio} | "
            f"{format_bytes(ours.peak_bytes)} | {format_bytes(peer.peak_bytes) if peer else '-'} | "
            f"{format_bytes(ours.spilled_bytes)} | "
            f"{format_bytes(peer.spilled_bytes) if peer else '-'} |"
        )
        print(lines[-1], flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
