"""Imbalanced CPU pipeline: sleep stages of 2, 10 and 40 ms at 0.1 CPU on a 2-CPU cluster.

Ideal throughput = worker slots / sum of stage costs = (2 / 0.1) / 0.052 s = 385 tasks/s.
Prints cosmos-curate next to Ray Data (autoscaling actor pools, and pools hand-sized to the
ideal split) measured in the same run.

    python benchmarks/bench_imbalanced.py [--tasks 10000]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import ray
from _common import (
    RayDataSleep,
    Row,
    SleepStage,
    count_rows_until,
    print_table,
    rows,
    start_cluster,
    tasks,
    timed,
)

from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline

COSTS = (0.002, 0.010, 0.040)
CPUS_PER_WORKER = 0.1
CLUSTER_CPUS = 2
BLOCK_ROWS = 10


def ideal() -> float:
    return (CLUSTER_CPUS / CPUS_PER_WORKER) / sum(COSTS)


def run_ours(n: int) -> list[Row]:
    stages = [SleepStage(f"sleep{int(c * 1000)}ms", c, CPUS_PER_WORKER) for c in COSTS]
    snapshots: list[tuple[float, int, bool]] = []

    def watch(progress: Any) -> None:
        starting = any(s.workers_starting for s in progress.stages)
        snapshots.append((time.perf_counter(), progress.outputs, starting))

    seconds, result = timed(
        lambda: execute_pipeline(
            tasks(n), stages, collect_outputs=False, progress_callbacks=[watch]
        )
    )
    assert result.num_outputs == n, result.num_outputs
    workers = "/".join(str(s.workers_target) for s in result.progress.stages)
    rows = [Row("imbalanced", "cosmos-curate", n, seconds, ideal(), f"final targets {workers}")]
    # Steady state: once no worker is starting any more, until 90% of the outputs are out
    # (after that finished stages hand their slots to the last one: the tail).
    tail = next(i for i, snap in enumerate(snapshots) if snap[1] >= 0.9 * n)
    last_start = max((i for i, snap in enumerate(snapshots[:tail]) if snap[2]), default=0)
    t0, done0, _ = snapshots[last_start]
    t1, done1, _ = snapshots[tail]
    if done1 > done0 and t1 > t0:
        rows.append(
            Row(
                "imbalanced",
                "cosmos-curate, after worker start-up",
                done1 - done0,
                t1 - t0,
                ideal(),
                f"all workers up at {t0 - snapshots[0][0]:.1f} s",
            )
        )
    return rows


def run_ray_data(n: int, concurrency: list[int | tuple[int, int]], label: str) -> Row:
    import ray.data

    # Many small blocks: Ray Data parallelises over blocks, so fewer would starve it.
    ds = ray.data.from_items(rows(n), override_num_blocks=max(1, n // BLOCK_ROWS))
    for cost, conc in zip(COSTS, concurrency, strict=True):
        ds = ds.map_batches(
            RayDataSleep,
            fn_constructor_args=(cost,),
            batch_size=1,
            num_cpus=CPUS_PER_WORKER,
            concurrency=conc,
        )
    # A configuration that crawls is stopped at 5x the ideal time; its rate still counts.
    seconds, count, finished = count_rows_until(ds.iter_rows(), 5 * n / ideal())
    note = "" if finished else f"stopped after {seconds:.0f} s ({count:,} rows)"
    return Row("imbalanced", f"Ray Data ({label})", count, seconds, ideal(), note)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--skip-ray-data", action="store_true")
    args = parser.parse_args()
    start_cluster(CLUSTER_CPUS)
    results = run_ours(args.tasks)
    if not args.skip_ray_data:
        results.append(run_ray_data(args.tasks, [(1, 20), (1, 20), (1, 20)], "autoscaling pools"))
        results.append(run_ray_data(args.tasks, [1, 4, 15], "hand-sized 1/4/15"))
    ray.shutdown()
    print_table(results)


if __name__ == "__main__":
    main()
