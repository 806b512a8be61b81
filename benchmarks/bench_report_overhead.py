"""The run recorder's cost: its own CPU time over a no-op run, and the series' size.

1. A real run of `--tasks` no-op tasks (three stages, 2-CPU local cluster): the recorder's
   CPU time (measured inside it, written to the series' end record) over the run's CPU time
   (driver, plus the whole cluster's processes: workers, raylet, GCS), the series file's
   size, and the time to render report.html at the end.
2. A synthetic run of `--days` days with 10 stages fed at the engine's report pace (two
   records a second): the series stays bounded (file size, points) and the recorder's CPU
   time per record.

    python benchmarks/bench_report_overhead.py [--tasks 1000000] [--days 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import psutil
import ray
from _common import SleepStage, machine, start_cluster, tasks, timed

from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.results import PipelineProgress, StageProgress
from cosmos_curate.report import SERIES_FILE, RunRecorder, StageInfo, write_report

CLUSTER_CPUS = 2


class ClusterCpu:
    """CPU seconds of the driver's child processes (the local cluster), read at the end."""

    def __init__(self) -> None:
        self.by_pid: dict[int, float] = {}

    def __call__(self, progress: PipelineProgress) -> None:
        if not progress.finished:
            return
        for proc in psutil.Process().children(recursive=True):
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            self.by_pid[proc.pid] = times.user + times.system

    @property
    def seconds(self) -> float:
        return sum(self.by_pid.values())


def driver_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def real_run(n: int) -> None:
    start_cluster(CLUSTER_CPUS)
    stages = [SleepStage(f"noop{i}", 0.0, 0.5) for i in range(3)]
    cluster = ClusterCpu()
    cpu_before = driver_cpu()
    seconds, result = timed(
        lambda: execute_pipeline(
            tasks(n), stages, collect_outputs=False, progress_callbacks=[cluster]
        )
    )
    driver = driver_cpu() - cpu_before
    ray.shutdown()
    assert result.num_outputs == n and result.report_path is not None
    folder = result.report_path.parent
    end = json.loads((folder / SERIES_FILE).read_text().splitlines()[-1])
    recorder = float(end["recorder_cpu_s"])
    start = time.process_time()
    write_report([folder], folder / "again.html")
    render = time.process_time() - start
    size = (folder / SERIES_FILE).stat().st_size
    print(f"real run: {n:,} no-op tasks x 3 stages in {seconds:.1f} s ({n / seconds:,.0f}/s)")
    print(f"  recorder CPU {recorder * 1e3:.1f} ms; driver CPU {driver:.1f} s; "
          f"cluster processes CPU {cluster.seconds:.1f} s")  # fmt: skip
    print(f"  recorder / driver CPU = {100 * recorder / driver:.3f}%; "
          f"recorder / (driver + cluster) CPU = "
          f"{100 * recorder / (driver + cluster.seconds):.3f}%")  # fmt: skip
    print(f"  + rendering report.html once: {render:.2f} s CPU -> "
          f"(recorder + render) / driver CPU = {100 * (recorder + render) / driver:.2f}%")
    print(f"  series file {size / 1024:.0f} KiB; report.html "
          f"{result.report_path.stat().st_size / 2**20:.1f} MiB")  # fmt: skip


def _stage(i: int, t: float) -> StageProgress:
    done = int(t * (50 + i))
    return StageProgress(
        name=f"stage{i}", tasks_done=done, tasks_produced=done, tasks_failed=done // 1000,
        throughput=50.0, seconds_per_task=0.02 * (i + 1), workers_target=4 + int(t // 60) % 3,
        workers_starting=0, workers_busy=3, workers_idle=1, workers_draining=0,
        input_queue=int(t) % 40, output_queue=5, tasks_in_flight=6, cpu_fallback=False,
        process_seconds_total=t * 3.1, deserialize_seconds_total=0.0,
        deserialize_bytes_total=0, deserialize_count_total=0, cpu_percent=287.5,
        rss_bytes=2_000_000_000 + i, workers_lost=int(t) // 10_000,
    )  # fmt: skip


def synthetic_run(days: float) -> None:
    stages = [StageInfo(f"stage{i}", 1.0, 0.25 if i % 3 == 0 else 0.0) for i in range(10)]
    with tempfile.TemporaryDirectory() as tmp:
        recorder = RunRecorder(Path(tmp), stages, cluster_cpus=64, cluster_gpus=8)
        records = int(days * 86_400 * 2)
        for k in range(records):
            t = k * 0.5
            recorder(PipelineProgress(
                stages=tuple(_stage(i, t) for i in range(10)), elapsed_s=t,
                inputs_read=int(t * 50), input_exhausted=False, outputs=int(t * 50),
                failures=0,
            ))  # fmt: skip
        recorder.close()
        size = (Path(tmp) / SERIES_FILE).stat().st_size
        print(f"synthetic run: {days:g} days, 10 stages, {records:,} progress records")
        print(f"  series file {size / 2**20:.2f} MiB, {recorder.points} points kept "
              f"(every {recorder.step:g} s); recorder CPU "
              f"{1e6 * recorder.cpu_seconds / records:.0f} us per record")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=3.0)
    args = parser.parse_args()
    print(machine())
    synthetic_run(args.days)
    real_run(args.tasks)


if __name__ == "__main__":
    main()
