"""Imbalanced CPU pipeline: sleep stages of 2, 10 and 40 ms at 0.1 CPU on a 2-CPU cluster.

Ideal throughput = worker slots / sum of stage costs = (2 / 0.1) / 0.052 s = 385 tasks/s.
Prints cosmos-curate next to Ray Data measured in the same run: its default batching (a block
per call) with autoscaling actor pools, pools hand-sized to the ideal split, and one row per
call. Both sides keep every output at the driver (ours `collect_outputs=True`, Ray Data the
blocks from `iter_batches`). Besides end to end, each row notes its rate over the middle 80%
of its outputs (10% to 90% delivered, timed at the driver): the same steady-state figure for
both systems, past their start-up and before their tail.

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
    collect_batches_until,
    middle_rate,
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


def steady_note(arrivals: list[tuple[float, int]], n: int) -> str:
    """The same steady-state figure for every system: the rate over the middle 80% of outputs."""
    middle = middle_rate(arrivals, n)
    if middle is None:
        return ""
    rate = middle[0] / middle[1]
    return f"middle 80% of outputs: {rate:,.0f}/s ({rate / ideal():.0%})"


def run_ours(n: int) -> Row:
    stages = [SleepStage(f"sleep{int(c * 1000)}ms", c, CPUS_PER_WORKER) for c in COSTS]
    arrivals: list[tuple[float, int]] = []
    start = time.perf_counter()

    def watch(progress: Any) -> None:
        arrivals.append((time.perf_counter() - start, progress.outputs))

    seconds, result = timed(
        lambda: execute_pipeline(tasks(n), stages, collect_outputs=True, progress_callbacks=[watch])
    )
    assert len(result.outputs) == n, len(result.outputs)
    workers = "/".join(str(s.workers_target) for s in result.progress.stages)
    note = f"final targets {workers}; {steady_note(arrivals, n)}"
    return Row("imbalanced", "cosmos-curate", n, seconds, ideal(), note)


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


def run_ray_data(n: int, config: RayDataConfig, deadline_s: float) -> Row:
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
    # A configuration that crawls is stopped at the deadline; its rate still counts.
    seconds, count, finished, arrivals = collect_batches_until(ds, deadline_s)
    note = steady_note(arrivals, n)
    if not finished:
        note = "; ".join(filter(None, [f"stopped after {seconds:.0f} s ({count:,} rows)", note]))
    return Row("imbalanced", f"Ray Data ({config.label})", count, seconds, ideal(), note)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--skip-ray-data", action="store_true")
    args = parser.parse_args()
    start_cluster(CLUSTER_CPUS)
    results = [run_ours(args.tasks)]
    # Ray Data gets at least 3x our wall time before a crawling configuration is stopped, so
    # that a loaded machine's start-up delays do not cut one side only.
    deadline = max(5 * args.tasks / ideal(), 3 * results[0].seconds)
    if not args.skip_ray_data:
        results.extend(run_ray_data(args.tasks, c, deadline) for c in RAY_DATA_CONFIGS)
    ray.shutdown()
    print_table(results)


if __name__ == "__main__":
    main()
