"""The three profilers a worker can run around its calls (see `profiling.WorkerProfiler`).

Each one has `start()` / `stop()` around a call and `write(folder, worker)`, which writes the
profiler's own files and returns the `ProfileSummary` the report shows:
- `CpuProfiler`: pyinstrument, sampling every millisecond while a call runs; its sessions
  add up over the worker's life. Top functions by self time (and time including callees).
- `MemoryProfiler`: tracemalloc from the worker's start. After each `process_data` batch,
  when the memory the stage's code holds is the highest seen, a snapshot is kept: the top
  allocation sites are those of the heaviest moment (the runtime's own buffers left out).
- `TorchProfiler`: torch.profiler per call, with CUDA activity when the worker sees a CUDA
  device and CPU activity only otherwise (a GPU stage on CPU fallback still gets its op
  times); ops summed over calls, the first calls' Chrome traces kept.
"""

from __future__ import annotations

import logging
import time
import tracemalloc
from pathlib import Path
from typing import Any

from cosmos_curate.core.runs.profiles import ProfileSummary
from cosmos_curate.core.storage import publish_text

logger = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 0.001
MEMORY_FRAMES = 1
GPU_TRACES_KEPT = 2
"""Chrome traces written per worker: the first calls (the first is often a warm-up)."""
_RUNTIME_FILES = ("*/cosmos_curate/core/runtime/*", tracemalloc.__file__, "<frozen *>")


class CpuProfiler:
    """pyinstrument around each call; one session for the worker's life."""

    kind = "cpu"

    def __init__(self) -> None:
        from pyinstrument import Profiler

        self._profiler = Profiler(interval=SAMPLE_INTERVAL_S)

    def start(self) -> None:
        self._profiler.start()

    def stop(self) -> None:
        self._profiler.stop()

    def write(self, folder: Path, stage: str, worker: str) -> ProfileSummary | None:
        session = self._profiler.last_session
        if session is None:
            return None
        html = folder / f"cpu-{worker}.html"
        publish_text(html, self._profiler.output_html())
        root = session.root_frame()  # None when the calls were too short to be sampled
        rows = [] if root is None else _function_times(root)
        return ProfileSummary(stage, self.kind, worker, tuple(rows), session.duration, (html.name,))


def _function_times(root: Any) -> list[tuple[str, float, float]]:
    """Per function under the worker's own methods: (name, self seconds, total seconds).

    Frames above `StageWorker.process`/`setup` are Ray's executor and are left out; a
    function met twice on one stack (recursion) counts its total once.
    """
    times: dict[str, list[float]] = {}
    stack: list[tuple[Any, bool, frozenset[str]]] = [(root, False, frozenset())]
    while stack:
        frame, inside, on_path = stack.pop()
        if getattr(frame, "is_synthetic", False):
            continue
        name = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
        inside = inside or (
            frame.function in ("process", "setup") and frame.file_path.endswith("worker.py")
        )
        if inside:
            row = times.setdefault(name, [0.0, 0.0])
            row[0] += frame.total_self_time
            if name not in on_path:
                row[1] += frame.time
        path = on_path | {name} if inside else on_path
        stack.extend((child, inside, path) for child in frame.children)
    return [(name, a, b) for name, (a, b) in times.items()]


class MemoryProfiler:
    """tracemalloc for the worker's life; the heaviest moment's allocation sites."""

    kind = "memory"

    def __init__(self) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(MEMORY_FRAMES)
        self._highest = -1
        self._snapshot: tracemalloc.Snapshot | None = None

    def start(self) -> None:
        """Nothing per call: tracing runs from the worker's start."""

    def stop(self) -> None:
        """Nothing per call (see `after_batch`)."""

    def after_batch(self) -> None:
        """Keep a snapshot when the traced memory is the highest seen so far."""
        current, _ = tracemalloc.get_traced_memory()
        if current > self._highest:
            self._highest = current
            self._snapshot = tracemalloc.take_snapshot()

    def write(self, folder: Path, stage: str, worker: str) -> ProfileSummary | None:
        snapshot = self._snapshot or tracemalloc.take_snapshot()
        kept = snapshot.filter_traces([tracemalloc.Filter(False, f) for f in _RUNTIME_FILES])
        dump = folder / f"memory-{worker}.tracemalloc"
        dump.parent.mkdir(parents=True, exist_ok=True)
        kept.dump(str(dump))  # read with tracemalloc.Snapshot.load
        rows = [
            (f"{stat.traceback[0].filename}:{stat.traceback[0].lineno}", stat.size, stat.count)
            for stat in kept.statistics("lineno")
        ]
        _, peak = tracemalloc.get_traced_memory()
        return ProfileSummary(
            stage, self.kind, worker, tuple((n, float(a), float(b)) for n, a, b in rows),
            float(peak), (dump.name,),
            note="live memory the stage's code held at its heaviest moment; total: peak",
        )  # fmt: skip


class TorchProfiler:
    """torch.profiler around each call; ops summed over the worker's calls."""

    kind = "gpu"

    def __init__(self) -> None:
        import torch
        from torch.profiler import ProfilerActivity

        self._torch = torch
        self._cuda = bool(torch.cuda.is_available())
        self._activities = [ProfilerActivity.CPU]
        if self._cuda:
            self._activities.append(ProfilerActivity.CUDA)
        # The first profile imports much of torch (sympy, ...): pay that now, outside the
        # other profilers and the worker's calls.
        with torch.profiler.profile(activities=self._activities):
            pass
        self._profile: Any = None
        self._ops: dict[str, list[float]] = {}
        self._calls = 0
        self._seconds = 0.0
        self._started = 0.0
        self._traces: list[str] = []

    def start(self) -> None:
        self._profile = self._torch.profiler.profile(activities=self._activities)
        self._profile.__enter__()
        self._started = time.perf_counter()

    def stop(self) -> None:
        profile, self._profile = self._profile, None
        if profile is None:
            return
        profile.__exit__(None, None, None)
        self._seconds += time.perf_counter() - self._started
        self._calls += 1
        for event in profile.key_averages():
            micros = event.self_device_time_total if self._cuda else event.self_cpu_time_total
            row = self._ops.setdefault(event.key, [0.0, 0.0])
            row[0] += micros / 1e6
            row[1] += event.count
        if len(self._traces) < GPU_TRACES_KEPT:
            self._traces.append(_chrome_trace(profile))

    def write(self, folder: Path, stage: str, worker: str) -> ProfileSummary | None:
        if not self._calls:
            return None
        files = []
        for index, trace in enumerate(self._traces, start=1):
            path = folder / f"gpu-{worker}-call{index}.trace.json"
            publish_text(path, trace)
            files.append(path.name)
        note = "" if self._cuda else "CPU activity only: no CUDA device on this worker"
        rows = tuple((name, a, b) for name, (a, b) in self._ops.items())
        return ProfileSummary(
            stage, self.kind, worker, rows, self._seconds, tuple(files), note=note
        )


def _chrome_trace(profile: Any) -> str:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="curate-trace-") as folder:
        path = Path(folder) / "trace.json"
        profile.export_chrome_trace(str(path))
        return path.read_text(encoding="utf-8")
