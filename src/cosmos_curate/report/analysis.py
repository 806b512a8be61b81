"""What the report says in words: the outcome, ideal vs achieved, the bottleneck, failures."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from pathlib import Path

import attrs

from cosmos_curate.core.interfaces.results import FailureRecord, read_failure_records
from cosmos_curate.presentation.format import first_line
from cosmos_curate.report.series import Point, RunSeries

QUEUE_BUILT_UP = 1.0
"""Mean tasks waiting in front of a stage from which its queue counts as built up."""
RECORDS_SHOWN = 3


@attrs.frozen
class Outcome:
    """The header's numbers."""

    outcome: str
    error: str | None
    inputs_read: int
    inputs_done: int
    outputs: int
    failures: int
    wall_s: float
    achieved_per_s: float | None
    ideal_per_s: float | None


def outcome(series: RunSeries) -> Outcome:
    """The run's outcome; `killed` when the series has no end record (driver gone)."""
    last = series.points[-1] if series.points else None
    end = series.end or {}
    wall = float(end.get("elapsed_s") or 0.0) or (last.t if last else 0.0)
    done = int(last.value(0, "done")) if last and series.stages else 0
    return Outcome(
        outcome=str(end.get("outcome", "killed")) if series.end else "killed (no end recorded)",
        error=end.get("error"),
        inputs_read=last.inputs_read if last else 0,
        inputs_done=done,
        outputs=last.outputs if last else 0,
        failures=last.failures if last else 0,
        wall_s=wall,
        achieved_per_s=done / wall if wall > 0 and done else None,
        ideal_per_s=ideal_rate(series, last),
    )


def ideal_rate(series: RunSeries, last: Point | None) -> float | None:
    """Inputs per second the cluster could reach at the measured costs, with no overhead.

    Each stage's seconds per task (process time / tasks done) times the tasks it does per
    input, weighted by the CPUs and GPUs a worker holds; the scarcer resource sets the rate.
    """
    if last is None or not series.stages or last.value(0, "done") <= 0:
        return None
    first = last.value(0, "done")
    cpu_s = gpu_s = 0.0
    for i, stage in enumerate(series.stages):
        done = last.value(i, "done")
        if done <= 0:
            continue
        per_input = last.value(i, "process_s") / done * done / first
        cpu_s += per_input * stage.cpus
        gpu_s += per_input * stage.gpus
    rates = []
    if cpu_s > 0 and series.cluster_cpus > 0:
        rates.append(series.cluster_cpus / cpu_s)
    if gpu_s > 0 and series.cluster_gpus > 0:
        rates.append(series.cluster_gpus / gpu_s)
    return min(rates) if rates else None


def _weighted_means(series: RunSeries, field: str) -> list[float]:
    """Time-weighted mean of a stage field over the run, per stage."""
    points, n = series.points, len(series.stages)
    if len(points) < 2:
        return [points[0].value(i, field) if points else 0.0 for i in range(n)]
    total = points[-1].t - points[0].t or 1.0
    means = [0.0] * n
    for before, after in itertools.pairwise(points):
        dt = after.t - before.t
        for i in range(n):
            means[i] += (before.value(i, field) + after.value(i, field)) / 2 * dt
    return [m / total for m in means]


def bottleneck_sentence(series: RunSeries) -> str:
    """Where queues built up, in words (the first stage's queue is the input buffer)."""
    if len(series.points) < 2 or not series.stages:
        return "Too few points were recorded to tell where the run waited."
    names = [s.name for s in series.stages]
    waiting = _weighted_means(series, "in_queue")
    busy = _weighted_means(series, "busy")
    live = [b + i for b, i in zip(busy, _weighted_means(series, "idle"), strict=True)]
    downstream = list(range(1, len(names)))
    worst = max(downstream, key=lambda i: waiting[i], default=None)
    if worst is not None and waiting[worst] >= QUEUE_BUILT_UP:
        share = _share(busy[worst], live[worst])
        return (
            f"Queues built up in front of {names[worst]} (on average {waiting[worst]:.1f} "
            f"tasks waiting; its workers busy {share}): {names[worst]} is the bottleneck."
        )
    share = _share(busy[0], live[0])
    if len(names) == 1:
        return f"One stage ({names[0]}); its workers were busy {share} of the time."
    return (
        f"No queue built up between stages: every stage kept pace with {names[0]}, the "
        f"first stage, which sets the pace (its workers busy {share})."
    )


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}% of the time" if whole > 0 else "- (no live workers)"


@attrs.frozen
class FailureGroup:
    """Failures of one stage with one root cause."""

    stage: str
    cause: str
    count: int
    first: tuple[FailureRecord, ...]


def failures_file(series: RunSeries) -> Path | None:
    """Where the run wrote its failure records (None if none were written)."""
    named = series.header.get("failures_path")
    path = Path(named) if named else series.folder / "failures.jsonl"
    return path if path.is_file() else None


def root_cause(record: FailureRecord) -> str:
    """The error's first line with numbers and quoted values masked, so alike errors group."""
    line = first_line(record.error) or "(no message)"
    line = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", line)
    return re.sub(r"\b0x[0-9a-fA-F]+\b|\d+(\.\d+)?", "N", line)[:300]


def failure_groups(series: RunSeries) -> list[FailureGroup]:
    """Failures grouped by stage and root cause, largest group first."""
    path = failures_file(series)
    if path is None:
        return []
    records = read_failure_records(path)
    counts = Counter((r.stage, root_cause(r)) for r in records)
    groups = []
    for (stage, cause), count in counts.most_common():
        first = tuple(r for r in records if r.stage == stage and root_cause(r) == cause)
        groups.append(FailureGroup(stage, cause, count, first[:RECORDS_SHOWN]))
    return groups
