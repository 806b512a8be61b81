"""Imbalanced CPU pipeline: sleep stages of 2, 10 and 40 ms at 0.1 CPU on a 2-CPU cluster.

Ideal throughput = worker slots / sum of stage costs = (2 / 0.1) / 0.052 s = 385 tasks/s.
Prints cosmos-curate next to Ray Data measured in the same run: its default batching (a block
per call) with autoscaling actor pools, pools hand-sized to the ideal split, and one row per
call.

    python benchmarks/bench_imbalanced.py [--tasks 10000]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import attrs
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


@attrs.frozen
class RayDataConfig:
    """One way to run the workload on Ray Data (`map_batches` over actor pools)."""

    label: str
    batch_size: int | None  # None: Ray Data's default (each block is one batch)
    pools: tuple[tuple[int, int], ...]  # (min, max) actors per stage; min == max: fixed
    block_rows: int | None = BLOCK_ROWS  # None: Ray Data's own block count for the input


RAY_DATA_CONFIGS = (
    # Ray Data's defaults: batch_size=None (a block per call) and autoscaling actor pools
    # (ActorPoolStrategy(min_size=1, max_size=N), what its docs recommend for callable
    # classes), on small blocks and on its own block count.
    RayDataConfig("default batching, autoscaling 1..20, 10-row blocks", None, ((1, 20),) * 3),
    RayDataConfig(
        "default batching and blocks, autoscaling 1..20", None, ((1, 20),) * 3, block_rows=None
    ),
    RayDataConfig("default batching, hand-sized 1/4/15", None, ((1, 1), (4, 4), (15, 15))),
    # One row per call (the first pass's only configuration): per-call overhead dominates.
    RayDataConfig("batch_size=1, autoscaling 1..20", 1, ((1, 20),) * 3),
)


def run_ray_data(n: int, config: RayDataConfig) -> Row:
    import ray.data

    blocks = {"override_num_blocks": max(1, n // config.block_rows)} if config.block_rows else {}
    ds = ray.data.from_items(rows(n), **blocks)
    for cost, (low, high) in zip(COSTS, config.pools, strict=True):
        pool = (
            ray.data.ActorPoolStrategy(size=low)
            if low == high
            else ray.data.ActorPoolStrategy(min_size=low, max_size=high)
        )
        ds = ds.map_batches(
            RayDataSleep,
            fn_constructor_args=(cost,),
            batch_size=config.batch_size,
            num_cpus=CPUS_PER_WORKER,
            compute=pool,
        )
    # A configuration that crawls is stopped at 5x the ideal time; its rate still counts.
    seconds, count, finished = count_rows_until(ds.iter_rows(), 5 * n / ideal())
    note = "" if finished else f"stopped after {seconds:.0f} s ({count:,} rows)"
    return Row("imbalanced", f"Ray Data ({config.label})", count, seconds, ideal(), note)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--skip-ray-data", action="store_true")
    args = parser.parse_args()
    start_cluster(CLUSTER_CPUS)
    results = run_ours(args.tasks)
    if not args.skip_ray_data:
        results.extend(run_ray_data(args.tasks, config) for config in RAY_DATA_CONFIGS)
    ray.shutdown()
    print_table(results)


if __name__ == "__main__":
    main()
