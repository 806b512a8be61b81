"""What to do with tasks whose call did not come back (part of phase 3, collect).

- a worker died: every call it held is suspect; their chunks are split into single tasks
  that then run alone on idle workers, and a task that killed `max_worker_deaths_per_task`
  workers is quarantined as a failure record;
- the call broke outside `process_data` (unreadable tasks, data lost with a node): every
  task of it becomes a failure record.
"""

from __future__ import annotations

import logging
import re

import attrs

from cosmos_curate.core.interfaces.results import FailureRecord, short_repr
from cosmos_curate.core.runtime.failure_policy import stop_unless_ignored
from cosmos_curate.core.runtime.failures import FailureLog
from cosmos_curate.core.runtime.queues import Chunk
from cosmos_curate.core.runtime.run_options import EngineOptions
from cosmos_curate.core.runtime.run_state import InFlightCall, RunState
from cosmos_curate.core.runtime.wire import dumps, load_chunk

logger = logging.getLogger(__name__)


def requeue_dead_worker_call(
    state: RunState, options: EngineOptions, failures: FailureLog, call: InFlightCall
) -> None:
    """Put back the tasks of a call whose worker died, split into suspect single tasks."""
    stage = state.stages[call.stage]
    if stage.pool.is_live(call.worker):
        logger.warning(
            "stage %s: a worker died; re-running its %d in-flight task(s) elsewhere",
            stage.spec.name,
            call.n_tasks,
        )
    stage.pool.on_worker_died(call.worker)
    # Every call the dead worker held is suspect (we cannot tell which one was running):
    # split into single tasks that then run alone, so only a real poison task keeps
    # killing workers until it is quarantined.
    requeue: list[Chunk] = []
    for chunk in call.chunks:
        requeue.extend(_suspect_chunks(state, options, failures, call.stage, chunk))
    stage.queue.push_front(requeue)


def _suspect_chunks(
    state: RunState, options: EngineOptions, failures: FailureLog, index: int, chunk: Chunk
) -> list[Chunk]:
    """A chunk a dead worker held: split into single tasks, or quarantined at the limit."""
    if chunk.n_tasks > 1:
        singles = split_into_singles(chunk)  # new objects: the shared one is let go
        state.split_chunk(index, chunk, singles)
        return singles
    deaths = chunk.deaths + 1
    if deaths < options.max_worker_deaths_per_task:
        return [attrs.evolve(chunk, deaths=deaths)]
    stage = state.stages[index]
    record = quarantine_record(stage.spec.name, chunk, deaths)
    logger.error("stage %s: quarantined %s", record.stage, record.task_repr)
    failures.write(record)
    stage.stats.tasks_failed += 1
    stop_unless_ignored(stage.spec, [record], failures.path)
    state.release_chunk(chunk)
    return []


def record_broken_call(
    state: RunState, failures: FailureLog, call: InFlightCall, exc: BaseException
) -> None:
    """Every task of a call that broke outside `process_data` becomes a failure record."""
    stage = state.stages[call.stage]
    records = broken_call_records(stage.spec.name, call.chunks, exc)
    for record in records:
        failures.write(record)
    stage.stats.tasks_failed += call.n_tasks
    stop_unless_ignored(stage.spec, records, failures.path, _cause(exc))
    for chunk in call.chunks:
        state.release_chunk(chunk)


def _cause(exc: BaseException) -> BaseException:
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


def split_into_singles(chunk: Chunk) -> list[Chunk]:
    """One suspect chunk per task, each remembering one more worker death."""
    return [Chunk(dumps([t]), 1, chunk.origins, chunk.deaths + 1) for t in load_chunk(chunk)]


def quarantine_record(stage_name: str, chunk: Chunk, deaths: int) -> FailureRecord:
    """The failure record of a single task that killed `deaths` workers."""
    (task,) = load_chunk(chunk)
    return FailureRecord(
        stage=stage_name,
        error=f"WorkerDied: the task killed its worker process {deaths} times",
        traceback="",
        attempts=deaths,
        task_repr=short_repr(task),
    )


def broken_call_records(
    stage_name: str, chunks: list[Chunk], exc: BaseException
) -> list[FailureRecord]:
    """One record per task of a call that failed outside `process_data`."""
    cause = getattr(exc, "cause", None) or exc
    records: list[FailureRecord] = []
    for chunk in chunks:
        try:
            reprs = [short_repr(t) for t in load_chunk(chunk)]
        except Exception:  # the driver cannot read them either; keep the count
            reprs = [f"<task {i} of an unreadable chunk>" for i in range(chunk.n_tasks)]
        records.extend(
            FailureRecord(
                stage=stage_name,
                error=one_line(cause),
                traceback=str(exc),
                attempts=1,
                task_repr=task_repr,
            )
            for task_repr in reprs
        )
    return records


_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b.*")


def one_line(exc: BaseException) -> str:
    """The most telling line: for Ray's wrapped errors, the innermost `XError: ...` line."""
    text = f"{type(exc).__name__}: {exc}".strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if _ERROR_LINE.match(line):
            return line
    return lines[0] if lines else type(exc).__name__
