"""The run recorder: a progress sink that keeps a bounded time series in the run's folder.

The engine hands it a `PipelineProgress` at its report pace. It keeps a point at most every
`step` seconds and appends it to `series.jsonl` at once (a SIGKILLed driver leaves what was
recorded); past `max_points` it drops every other point and doubles `step`, rewriting the
file atomically, so a run of days keeps the whole run at an even, coarser resolution and
the file stays at a few MB. Planner decisions, lost workers and the end of the input are
read off successive records (targets and lost-worker counts change) as events.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import psutil

from cosmos_curate.core.interfaces.results import PipelineProgress, StageProgress
from cosmos_curate.core.storage import publishing
from cosmos_curate.presentation.format import first_line
from cosmos_curate.report.series import (
    REPORT_FILE,
    SERIES_FILE,
    Point,
    StageInfo,
    dumps,
    header_record,
)

logger = logging.getLogger(__name__)

MIN_STEP_S = 0.5
MAX_POINTS = 1500
MAX_EVENTS = 2000


class RunRecorder:
    """Records a run's progress into `folder/series.jsonl`; call it with each progress record.

    `cpu_seconds` is the CPU time spent inside the recorder (its own cost). `close` writes
    the outcome; `exit` (an `ExitStack.push` callback) closes and renders `report.html`.
    `run_started` (epoch s) is when the run began; `close` sets `wall_s`, the run's one wall
    time from then. `warnings` is read at `close` (a list the caller keeps filling).
    """

    def __init__(
        self,
        folder: Path,
        stages: list[StageInfo],
        *,
        cluster_cpus: float,
        cluster_gpus: float,
        failures_path: Path | None = None,
        run_started: float | None = None,
        nodes: int = 1,
        warnings: Sequence[str] = (),
        min_step_s: float = MIN_STEP_S,
        max_points: int = MAX_POINTS,
        max_events: int = MAX_EVENTS,
    ) -> None:
        self.folder = folder
        self.path = folder / SERIES_FILE
        self.report_path: Path | None = None
        self.cpu_seconds = 0.0
        self.step = min_step_s
        self._max_points = max(4, max_points)
        self._max_events = max(1, max_events)
        self._header = header_record(
            stages,
            cluster_cpus=cluster_cpus,
            cluster_gpus=cluster_gpus,
            started=time.time(),
            command=" ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]]),
            failures_path=failures_path,
            run_started=run_started,
            nodes=nodes,
        )
        self._run_started = run_started
        self._warnings = warnings
        self.wall_s: float | None = None
        self._points: list[dict[str, Any]] = []
        self._events: list[dict[str, Any]] = []
        self._events_dropped = 0
        self._previous: PipelineProgress | None = None
        self._last_t = -float("inf")
        self._process = psutil.Process()
        folder.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = self.path.open("w", encoding="utf-8")
        self._write(self._header)

    def __call__(self, progress: PipelineProgress) -> None:
        """Record `progress` (a progress sink)."""
        start = time.thread_time()
        try:
            self._note_events(progress)
            if progress.finished or progress.elapsed_s - self._last_t >= self.step:
                self._add_point(progress)
        finally:
            self.cpu_seconds += time.thread_time() - start

    @property
    def points(self) -> int:
        """Points kept so far."""
        return len(self._points)

    def close(self, outcome: str = "finished", error: str | None = None) -> None:
        """Write the end record (`outcome`: finished, failed, interrupted) and close the file."""
        if self._file is None:
            return
        elapsed = self._previous.elapsed_s if self._previous is not None else 0.0
        started = self._run_started if self._run_started is not None else self._header["started"]
        self.wall_s = round(max(elapsed, time.time() - started), 3)
        self._write(
            {
                "k": "end",
                "outcome": outcome,
                "error": error,
                "elapsed_s": round(elapsed, 3),
                "wall_s": self.wall_s,
                "warnings": list(self._warnings),
                "events_dropped": self._events_dropped,
                "recorder_cpu_s": round(self.cpu_seconds, 6),
            }
        )
        self._file.close()
        self._file = None

    def exit(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> bool:
        """`ExitStack.push` callback: close with the run's outcome and render the page.

        Never raises (a report must not hide the run's own error); returns False so the
        run's exception, if any, goes on.
        """
        try:
            self.close(*outcome_of(exc))
            from cosmos_curate.report.render import write_report

            self.report_path = write_report([self.folder], self.folder / REPORT_FILE)
        except Exception:
            logger.exception("could not write the run's report into %s", self.folder)
        return False

    # ---- recording -----------------------------------------------------------------------
    def _add_point(self, progress: PipelineProgress) -> None:
        try:
            rss = int(self._process.memory_info().rss)
        except psutil.Error:
            rss = 0
        point = Point(
            t=progress.elapsed_s,
            inputs_read=progress.inputs_read,
            outputs=progress.outputs,
            failures=progress.failures,
            stages=tuple(_row(s) for s in progress.stages),
            driver_rss=rss,
        ).to_json()
        self._last_t = progress.elapsed_s
        self._points.append(point)
        self._write(point)
        if len(self._points) > self._max_points:
            self._thin()

    def _note_events(self, progress: PipelineProgress) -> None:
        previous, t = self._previous, round(progress.elapsed_s, 3)
        self._previous = progress
        for index, stage in enumerate(progress.stages):
            old = previous.stages[index] if previous is not None else None
            old_target = old.workers_target if old is not None else 0
            if stage.workers_target != old_target:
                why = decision_reason(progress, index, old_target)
                self._event(
                    {"t": t, "type": "plan", "stage": stage.name, "from": old_target,
                     "to": stage.workers_target, "why": why}
                )  # fmt: skip
            lost = stage.workers_lost - (old.workers_lost if old is not None else 0)
            if lost > 0:
                self._event({"t": t, "type": "worker_lost", "stage": stage.name, "count": lost})
        if progress.input_exhausted and (previous is None or not previous.input_exhausted):
            self._event({"t": t, "type": "input_done", "inputs": progress.inputs_read})

    def _event(self, event: dict[str, Any]) -> None:
        record = {"k": "e", **event}
        self._events.append(record)
        self._write(record)
        if len(self._events) > self._max_events:
            # Keep the first half (how the run settled) and the newest; cut a quarter at a
            # time so that the file is rewritten once per many events, not at each.
            half = self._max_events // 2
            cut = len(self._events) - half - self._max_events // 4
            del self._events[half : half + cut]
            self._events_dropped += cut
            self._rewrite()

    def _thin(self) -> None:
        self._points = [*self._points[:-1:2], self._points[-1]]
        self.step *= 2
        self._rewrite()

    def _rewrite(self) -> None:
        """Replace the file by the kept records (atomic: a kill leaves the old or the new)."""
        if self._file is None:
            return
        self._file.close()
        with publishing(self.path, "w") as file:
            file.write(dumps(self._header))
            file.writelines(dumps(r) for r in sorted(self._events + self._points, key=_t))
        self._file = self.path.open("a", encoding="utf-8")

    def _write(self, record: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(dumps(record))
            self._file.flush()


def _t(record: dict[str, Any]) -> float:
    return float(record["t"])


def _row(stage: StageProgress) -> tuple[float, ...]:
    """A stage's row in `STAGE_FIELDS` order."""
    return (
        stage.tasks_done,
        stage.tasks_failed,
        stage.tasks_produced,
        stage.workers_busy,
        stage.workers_idle,
        stage.workers_starting,
        stage.workers_draining,
        stage.workers_target,
        stage.input_queue,
        stage.output_queue,
        stage.tasks_in_flight,
        round(stage.cpu_percent, 1),
        stage.rss_bytes,
        round(stage.process_seconds_total, 3),
        stage.workers_lost,
    )


def decision_reason(progress: PipelineProgress, index: int, old: int) -> str:
    """Why the planner moved stage `index` from `old` workers, read off the progress record."""
    stage = progress.stages[index]
    new = stage.workers_target
    if old == 0:
        return "first plan"
    upstream = progress.stages[:index]
    upstream_done = progress.input_exhausted and all(
        s.input_queue == 0 and s.tasks_in_flight == 0 for s in upstream
    )
    if new < old and upstream_done and stage.input_queue == 0:
        return "upstream finished: workers given back"
    spt = stage.seconds_per_task
    if spt is None:
        return "speed not measured yet"
    measured = [s.seconds_per_task for s in progress.stages if s.seconds_per_task is not None]
    slowest = " (the slowest stage)" if spt >= max(measured) else ""
    if new > old:
        return f"{spt:.3g} s per task{slowest}: more workers to keep pace"
    return f"{spt:.3g} s per task: fewer workers keep pace, resources go to slower stages"


def outcome_of(exc: BaseException | None) -> tuple[str, str | None]:
    """(outcome, error line) for the exception a run ended with (None: finished)."""
    if exc is None:
        return "finished", None
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", "interrupted (Ctrl-C)"
    if type(exc).__name__ == "Terminated":
        return "interrupted", "terminated (SIGTERM)"
    return "failed", f"{type(exc).__name__}: {first_line(exc, max_chars=300)}"
