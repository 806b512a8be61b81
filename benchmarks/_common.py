"""Shared pieces of the benchmarks: a fixed-size local cluster, workloads, a result table."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import psutil
import ray

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, ROOT_DIR)

from cosmos_curate.core.interfaces.stage_interface import (  # noqa: E402
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)
from cosmos_curate.core.ray_cluster.code_shipping import inherited_by_new_cluster  # noqa: E402


@attrs.define
class BenchTask(PipelineTask):
    """A numbered task with a small payload."""

    id: int


class SleepStage(CuratorStage[BenchTask, BenchTask]):
    """Costs `seconds` per task (a sleep: the cost of waiting on an accelerator or I/O)."""

    def __init__(self, name: str, seconds: float, cpus: float, gpus: float = 0.0) -> None:
        self._name, self.seconds, self.cpus, self.gpus = name, seconds, cpus, gpus

    @property
    def name(self) -> str:
        return self._name

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=self.cpus, gpus=self.gpus)

    def process_data(self, tasks: list[BenchTask]) -> list[BenchTask] | None:
        if self.seconds:
            time.sleep(self.seconds * len(tasks))
        return tasks


class RayDataSleep:
    """The same stage as a Ray Data `map_batches` callable class."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        if self.seconds:
            time.sleep(self.seconds * len(batch["id"]))
        return batch


def rows(n: int) -> list[dict[str, int]]:
    """The same input for Ray Data, held by the driver (no read tasks competing for CPUs)."""
    return [{"id": i} for i in range(n)]


def tasks(n: int) -> Iterator[BenchTask]:
    """A lazy input of `n` tasks."""
    for i in range(n):
        yield BenchTask(i)


def start_cluster(cpus: float, gpus: float = 0) -> None:
    """A fresh local Ray cluster of exactly this size, quiet, no dashboard."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    # Workers inherit the code path from the raylet's environment (a job runtime_env with
    # env_vars would route every worker start, ours and Ray Data's, through the slower
    # runtime-env agent).
    with inherited_by_new_cluster({"PYTHONPATH": os.pathsep.join([BENCH_DIR, ROOT_DIR])}):
        ray.init(
            address="local",
            num_cpus=cpus,
            num_gpus=gpus,
            include_dashboard=False,
            logging_level="ERROR",
            log_to_driver=False,
        )


def collect_batches_until(
    ds: Any, deadline_s: float
) -> tuple[float, int, bool, list[tuple[float, int]]]:
    """Pull a Ray Data dataset's outputs to the driver and keep them, as
    `execute_pipeline(collect_outputs=True)` does on our side, for at most `deadline_s`.

    Returns (seconds, rows seen, finished, arrivals): arrivals are (seconds since the
    start, rows so far) after each block, for `middle_rate`.
    """
    start = time.perf_counter()
    kept: list[Any] = []
    count = 0
    arrivals: list[tuple[float, int]] = []
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        kept.append(batch)
        count += len(batch["id"])
        now = time.perf_counter() - start
        arrivals.append((now, count))
        if now > deadline_s:
            return now, count, False, arrivals
    return time.perf_counter() - start, count, True, arrivals


def middle_rate(arrivals: list[tuple[float, int]], total: int) -> tuple[int, float] | None:
    """(outputs, seconds) between 10% and 90% of `total` outputs at the driver.

    One definition for both systems (from driver-side (seconds, outputs so far) samples):
    it leaves out the start (worker start-up, first calls) and the tail (stages draining),
    without asking either system when its workers were up. None when there are too few
    samples in between.
    """

    def first_at(fraction: float) -> tuple[float, int] | None:
        return next(((t, c) for t, c in arrivals if c >= fraction * total), None)

    low, high = first_at(0.1), first_at(0.9)
    if low is None or high is None or high[0] <= low[0]:
        return None
    return high[1] - low[1], high[0] - low[0]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds of `fn()` and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


@attrs.frozen
class Row:
    """One line of a benchmark table."""

    workload: str
    system: str
    tasks: int
    seconds: float
    ideal_tasks_per_s: float | None = None
    note: str = ""

    @property
    def tasks_per_s(self) -> float:
        return self.tasks / self.seconds


def machine() -> str:
    """A one-line description of this machine."""
    mem = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.machine()} {os.cpu_count()} cores, {mem:.0f} GiB, Python "
        f"{platform.python_version()}, Ray {ray.__version__}"
    )


def print_table(rows: list[Row]) -> str:
    """Markdown table of the rows (also returned, for RESULTS.md)."""
    lines = [
        f"machine: {machine()}; date: {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        "| workload | system | tasks | seconds | tasks/s | ideal tasks/s | achieved/ideal | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ideal = f"{r.ideal_tasks_per_s:,.0f}" if r.ideal_tasks_per_s else "-"
        ratio = f"{r.tasks_per_s / r.ideal_tasks_per_s:.0%}" if r.ideal_tasks_per_s else "-"
        lines.append(
            f"| {r.workload} | {r.system} | {r.tasks:,} | {r.seconds:.1f} | "
            f"{r.tasks_per_s:,.0f} | {ideal} | {ratio} | {r.note} |"
        )
    text = "\n".join(lines)
    print(text)
    return text
