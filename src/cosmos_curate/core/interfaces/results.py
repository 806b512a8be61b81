"""What a run hands back to its caller: the result, progress records, failure records.

Plain attrs records with no Ray import, so displays, metrics, the CLI and the readers of a
failures file can use them without the runtime. The runtime fills them in.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import attrs

MAX_TASK_REPR = 2000
"""Characters of a task's repr kept in a failure record."""


@attrs.frozen
class StageProgress:
    """What a user sees about one stage at one instant."""

    name: str
    tasks_done: int
    tasks_produced: int
    tasks_failed: int
    throughput: float
    seconds_per_task: float | None
    workers_target: int
    workers_starting: int
    workers_busy: int
    workers_idle: int
    workers_draining: int
    input_queue: int
    output_queue: int
    tasks_in_flight: int
    cpu_fallback: bool
    process_seconds_total: float
    deserialize_seconds_total: float
    deserialize_bytes_total: int
    deserialize_count_total: int
    cpu_percent: float
    rss_bytes: int
    gpu_alloc: tuple[tuple[str, str, float], ...] = ()
    target_changes: int = 0
    workers_lost: int = 0
    workers_peak: int = 0
    """Most workers the stage had at once (what the final table shows as used)."""
    queued_bytes: int = 0
    """Serialized bytes queued for the stage (its input queue)."""
    in_flight_bytes: int = 0
    """Serialized input bytes of the stage's calls in flight."""
    bytes_out_per_task: float | None = None
    """Measured serialized output bytes per input task (None until a call returned)."""
    backpressure_wait_s: float = 0.0
    """Seconds the byte budget held the stage back (work and a free worker, no room)."""
    cpu_percent_mean: float = 0.0
    """CPU of the stage's workers together (percent of one core), averaged over the run."""
    cpu_percent_peak: float = 0.0
    rss_bytes_mean: int = 0
    """Memory of the stage's workers together, averaged over the run."""
    rss_bytes_peak: int = 0

    @property
    def fan_out(self) -> float:
        """Outputs per finished input, as measured so far (1 before anything finished)."""
        done = self.tasks_done + self.tasks_failed
        return self.tasks_produced / done if done else 1.0


@attrs.frozen
class PipelineProgress:
    """The state of the whole run at one instant, handed to progress displays and metrics."""

    stages: tuple[StageProgress, ...]
    elapsed_s: float
    inputs_read: int
    input_exhausted: bool
    outputs: int
    failures: int
    finished: bool = False
    scheduler_round_seconds: float = 0.0
    scheduler_rounds: int = 0
    plan_rounds: int = 0
    inputs_skipped: int = 0
    inputs_done: int = 0
    object_store_used_bytes: int = 0
    """Bytes in Ray's object store over the cluster, as Ray last reported (0: unknown)."""
    object_store_peak_bytes: int = 0
    object_store_capacity_bytes: int = 0
    byte_budget_bytes: int = 0
    """The run's byte budget (a fraction of the object store; 0: unbounded)."""
    spilled_bytes: int = 0
    """Bytes Ray spilled to disk during the run."""
    cross_node_bytes: int = 0
    """Chunk bytes sent to a worker on another node than the one that made them."""
    local_bytes: int = 0
    """Chunk bytes consumed on the node that made them."""

    def stage_fractions(self) -> list[float]:
        """Per stage, the fraction (0-1) of the work known so far that it has done.

        A stage's pending work is its own queue and in-flight tasks plus every upstream
        stage's, scaled by the measured fan-out (outputs per input) of the stages in between.
        Input not read yet is unknown, so before the input is exhausted this is relative to
        what was read. The metrics recorder exports the same numbers as `ray_pipeline_progress`.
        """
        fractions: list[float] = []
        upstream_pending = 0.0  # in the current stage's task units
        for stage in self.stages:
            backlog = stage.input_queue + stage.tasks_in_flight
            pending = upstream_pending + backlog
            done = stage.tasks_done + stage.tasks_failed
            if self.finished:
                fractions.append(1.0)
            elif done + pending > 0:
                fractions.append(done / (done + pending))
            else:
                fractions.append(0.0)
            upstream_pending = (upstream_pending + backlog) * stage.fan_out
        return fractions

    @property
    def eta_s(self) -> float | None:
        """Seconds left, estimated from the first stage's rate; None while unknown."""
        if not self.input_exhausted or not self.stages:
            return None
        first = self.stages[0]
        rate = first.throughput
        remaining = self.inputs_read - first.tasks_done - first.tasks_failed
        if rate <= 0:
            return None
        # The last stage trails the first by the pipeline's depth; count its backlog too.
        last = self.stages[-1]
        backlog = last.input_queue + last.tasks_in_flight
        left = max(remaining, backlog)
        # Never "0:00" while work remains: at least a second until the last task is out.
        return max(1.0, left / rate) if left > 0 else 0.0


@attrs.frozen
class PipelineResult:
    """What a run produced: outputs (if collected), counts, and where failures went."""

    outputs: list[Any]
    num_outputs: int
    num_failures: int
    failures_path: Path | None
    progress: PipelineProgress
    report_path: Path | None = None
    """The run's `report.html` (None when it could not be written)."""
    wall_s: float | None = None
    """The run's wall time from its start (the report's and `summary.json`'s one figure)."""
    in_process: bool = False
    """Whether the stages ran in the calling process, without Ray (`RunOptions.in_process`)."""


@attrs.frozen
class FailureRecord:
    """One task (or batch) that failed every attempt at a stage; one JSON line on disk."""

    stage: str
    error: str
    traceback: str
    attempts: int
    task_repr: str
    timestamp: float = attrs.field(factory=time.time)

    def to_json(self) -> str:
        """One JSON line (no trailing newline)."""
        return json.dumps(attrs.asdict(self), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FailureRecord:
        """Rebuild a record from `attrs.asdict` output or a parsed JSON line."""
        return cls(**data)


def short_repr(obj: object) -> str:
    """`repr(obj)` cut to `MAX_TASK_REPR` characters (a record's `task_repr`); never raises."""
    try:
        text = repr(obj)
    except Exception as exc:  # a broken __repr__ must not hide the real failure
        text = f"<unrepresentable {type(obj).__name__}: {exc}>"
    if len(text) > MAX_TASK_REPR:
        text = text[:MAX_TASK_REPR] + "...<truncated>"
    return text


def read_failure_records(path: Path) -> list[FailureRecord]:
    """Parse a failure-records file; a torn last line (crash mid-write) is ignored."""
    return parse_failure_records(path.read_text(encoding="utf-8"))


def parse_failure_records(text: str) -> list[FailureRecord]:
    """The records of a failure-records file's text (JSON lines; torn lines are skipped)."""
    records: list[FailureRecord] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            records.append(FailureRecord.from_dict(json.loads(line)))
        except (json.JSONDecodeError, TypeError):
            continue
    return records
