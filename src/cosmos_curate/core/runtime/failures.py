"""Failure records: what the runtime writes when a task gives up, as JSON lines."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import IO, Any

import attrs

MAX_TASK_REPR = 2000


@attrs.frozen
class FailureRecord:
    """One task (or batch) that failed every attempt at a stage."""

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
    """`repr(obj)` cut to a readable length; never raises."""
    try:
        text = repr(obj)
    except Exception as exc:  # a broken __repr__ must not hide the real failure
        text = f"<unrepresentable {type(obj).__name__}: {exc}>"
    if len(text) > MAX_TASK_REPR:
        text = text[:MAX_TASK_REPR] + "...<truncated>"
    return text


class FailureLog:
    """Appends failure records to a JSON-lines file (created on first record) and counts them."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.count_by_stage: dict[str, int] = {}
        self._file: IO[str] | None = None
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        """Records written so far."""
        return sum(self.count_by_stage.values())

    def write(self, record: FailureRecord) -> None:
        """Record one failure; flushed at once so a crash keeps what was written."""
        with self._lock:
            self.count_by_stage[record.stage] = self.count_by_stage.get(record.stage, 0) + 1
            if self.path is None:
                return
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(record.to_json() + "\n")
            self._file.flush()

    def close(self) -> None:
        """Close the file if one was opened."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def read_failure_records(path: Path) -> list[FailureRecord]:
    """Parse a failure-records file; a torn last line (crash mid-write) is ignored."""
    records: list[FailureRecord] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            records.append(FailureRecord.from_dict(json.loads(line)))
        except (json.JSONDecodeError, TypeError):
            continue
    return records
