"""What to do with tasks whose call did not come back: pure helpers the engine applies.

- a worker died: every call it held is suspect; their chunks are split into single tasks
  that then run alone on idle workers, and a task that killed `max_worker_deaths_per_task`
  workers is quarantined as a failure record;
- the call broke outside `process_data` (unreadable tasks, data lost with a node): every
  task of it becomes a failure record.
"""

from __future__ import annotations

import re
from typing import Any

import ray

from cosmos_curate.core.interfaces.results import FailureRecord, short_repr
from cosmos_curate.core.runtime.queues import Chunk
from cosmos_curate.core.runtime.worker import dumps, loads


def load_chunk(chunk: Chunk) -> list[Any]:
    """The tasks of a chunk (fetched from the object store when needed)."""
    blob = ray.get(chunk.data) if isinstance(chunk.data, ray.ObjectRef) else chunk.data
    start, stop = chunk.span
    return loads(blob)[start:stop]


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
