"""What `--profile cpu` costs: the no-op benchmark's pipeline with and without it, same run.

Three no-op stages (bench_noop's), `--tasks` lazily generated tasks, outputs not collected,
on one 2-CPU local cluster. Baseline and profiled runs alternate (`--rounds` each, the
baseline first), so a change in the machine's load hits both; each run gets a fresh
run folder. Prints tasks/s per run and profiled / baseline per round and their median.

    python benchmarks/bench_profile_overhead.py [--tasks 50000] [--rounds 3] [--kinds cpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import ray
from _common import SleepStage, machine, start_cluster, tasks, timed
from bench_noop import CLUSTER_CPUS, CPUS_PER_WORKER

from cosmos_curate.core import runs
from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline


def one_run(n: int, kinds: str | None, root: Path) -> float:
    """Tasks per second of one run (`kinds`: the profile request, None for the baseline)."""
    stages = [SleepStage(f"noop{i}", 0.0, CPUS_PER_WORKER) for i in range(3)]
    run = runs.create_run("bench-profile", root=root)
    seconds, result = timed(
        lambda: execute_pipeline(
            tasks(n), stages, collect_outputs=False, run_dir=run.folder, profile=kinds
        )
    )
    assert result.num_outputs == n
    if kinds:
        assert list((run.folder / "profiles").glob("*/cpu-*.json")), "no profile written"
    return n / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kinds", default="cpu")
    args = parser.parse_args()
    start_cluster(CLUSTER_CPUS)
    base: list[float] = []
    profiled: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            base.append(one_run(args.tasks, None, Path(tmp)))
            profiled.append(one_run(args.tasks, args.kinds, Path(tmp)))
            print(f"round {round_ + 1}: baseline {base[-1]:,.0f} tasks/s, "
                  f"--profile {args.kinds} {profiled[-1]:,.0f} tasks/s")  # fmt: skip
    ray.shutdown()
    # Paired by round: under a changing load, medians taken apart can pair unlike rounds.
    ratios = [p / b for b, p in zip(base, profiled, strict=True)]
    print(f"\n{machine()}, load average {os.getloadavg()[0]:.1f}")
    print("profiled / baseline per round: " + ", ".join(f"{r:.2f}" for r in ratios))
    print(f"median of the rounds' ratios = {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
