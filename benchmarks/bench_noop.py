"""Per-task overhead: three no-op stages, 50,000 tasks, tasks/s.

cosmos-curate (adaptive batching, pipelined calls) next to the best of several Ray Data
configurations (`map_batches` with actor pools: default batch size, one row per call,
hand-sized pools), all measured in the same run on the same 2-CPU cluster. Both sides
deliver every output to the driver and keep it there (ours `collect_outputs=True`, Ray Data
its blocks from `iter_batches`): that is what a user who wants the results gets, and Ray Data
has no way to run a dataset without pulling its outputs or storing them somewhere.

    python benchmarks/bench_noop.py [--tasks 50000]
"""

from __future__ import annotations

import argparse

import ray
from _common import (
    RayDataSleep,
    Row,
    SleepStage,
    collect_batches_until,
    print_table,
    rows,
    start_cluster,
    tasks,
    timed,
)

from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline

CLUSTER_CPUS = 2
BLOCK_ROWS = 1000
CPUS_PER_WORKER = 0.5


def run_ours(n: int) -> Row:
    stages = [SleepStage(f"noop{i}", 0.0, CPUS_PER_WORKER) for i in range(3)]
    seconds, result = timed(lambda: execute_pipeline(tasks(n), stages, collect_outputs=True))
    assert len(result.outputs) == n
    return Row("no-op x3", "cosmos-curate", n, seconds)


def run_ray_data(
    n: int,
    batch_size: int | str | None,
    concurrency: object,
    label: str,
    block_rows: int | None = BLOCK_ROWS,
) -> Row:
    import ray.data

    def go() -> int:
        # Many small blocks: Ray Data parallelises over blocks, so fewer would starve it.
        blocks = {"override_num_blocks": max(1, n // block_rows)} if block_rows else {}
        ds = ray.data.from_items(rows(n), **blocks)
        for _ in range(3):
            kwargs = {} if batch_size == "default" else {"batch_size": batch_size}
            ds = ds.map_batches(
                RayDataSleep,
                fn_constructor_args=(0.0,),
                num_cpus=CPUS_PER_WORKER,
                concurrency=concurrency,
                **kwargs,
            )
        _, count, _, _ = collect_batches_until(ds, float("inf"))
        return count

    seconds, count = timed(go)
    assert count == n
    return Row("no-op x3", f"Ray Data ({label})", n, seconds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=50_000)
    args = parser.parse_args()
    start_cluster(CLUSTER_CPUS)
    results = [run_ours(args.tasks)]
    results.append(run_ray_data(args.tasks, "default", (1, 4), "default blocks, autoscaling", None))
    results.append(run_ray_data(args.tasks, "default", (1, 4), "1000-row blocks, autoscaling"))
    results.append(run_ray_data(args.tasks, "default", 1, "default blocks, 1 actor each"))
    results.append(run_ray_data(args.tasks, 1, (1, 4), "1 task per call, autoscaling"))
    ray.shutdown()
    best = max(results[1:], key=lambda r: r.tasks_per_s)
    print_table(results)
    print(f"\ncosmos-curate / best Ray Data = {results[0].tasks_per_s / best.tasks_per_s:.2f}x")


if __name__ == "__main__":
    main()
