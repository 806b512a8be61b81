"""The failure log: the runtime appends a `FailureRecord` per task that gives up, as JSON lines.

Each record is fsynced before `write` returns: the runtime releases a failed input (and the
resume journal may mark it done) only after that, so a crash, power loss included, never
leaves an input counted as done whose failure record is lost.

The record and its reader live in `core.interfaces.results` (a file format users read).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import IO

from cosmos_curate.core.interfaces.results import FailureRecord


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
        """Record one failure; on disk (flushed and fsynced) when this returns."""
        with self._lock:
            self.count_by_stage[record.stage] = self.count_by_stage.get(record.stage, 0) + 1
            if self.path is None:
                return
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(record.to_json() + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close the file if one was opened."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
