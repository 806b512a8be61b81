"""Imbalanced CPU pipeline: sleep stages of 2, 10 and 40 ms at 0.1 CPU on a 2-CPU cluster.

Ideal throughput = worker slots / sum of stage costs = (2 / 0.1) / 0.052 s = 385 tasks/s.
Prints cosmos-curate next to Ray Data (autoscaling actor pools, and pools hand-sized to the
ideal split) measured in the same run.

    python benchmarks/bench_imbalanced.py [--tasks 10000]
"""

from __future__ import annotations

import argparse

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


def run_ours(n: int) -> Row:
    stages = [SleepStage(f"sleep{int(c * 1000)}ms", c, CPUS_PER_WORKER) for c in COSTS]
    seconds, result = timed(lambda: execute_pipeline(tasks(n), stages, collect_outputs=False))
    assert result.num_outputs == n, result.num_outputs
    workers = "/".join(str(s.workers_target) for s in result.progress.stages)
    return Row("imbalanced", "cosmos-curate", n, seconds, ideal(), f"final targets {workers}")


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
    results = [run_ours(args.tasks)]
    if not args.skip_ray_data:
        results.append(run_ray_data(args.tasks, [(1, 20), (1, 20), (1, 20)], "autoscaling pools"))
        results.append(run_ray_data(args.tasks, [1, 4, 15], "hand-sized 1/4/15"))
    ray.shutdown()
    print_table(results)


if __name__ == "__main__":
    main()
