"""The resume journal: input positions that fully left the pipeline, as JSON lines.

Each line is `{"done": [[start, end], ...]}`, appended and fsync'd in batches, so a driver
killed at any moment leaves a journal whose complete lines are all true. A torn last line (a
kill mid-write) is cut off before the next run appends, so its next record starts on a line of
its own. A failure record reaches the disk before its input is marked done here
(`FailureLog.write` fsyncs), so an input the journal skips was finished or recorded. A rerun
with the same folder (`--checkpoint-dir`, `checkpoint_dir=`) skips those positions of the input
(the input must come in the same order).
"""

from __future__ import annotations

import bisect
import json
import logging
import os
from pathlib import Path
from typing import IO

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.runtime.ledger import Ranges

logger = logging.getLogger(__name__)

JOURNAL_NAME = "journal.jsonl"


class DoneSet:
    """A set of input positions stored as merged, sorted ranges."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def add(self, start: int, end: int) -> None:
        """Mark positions `start..end-1` done."""
        i = bisect.bisect_left(self._ends, start)
        j = bisect.bisect_right(self._starts, end)
        if i < j:
            start = min(start, self._starts[i])
            end = max(end, self._ends[j - 1])
        self._starts[i:j] = [start]
        self._ends[i:j] = [end]

    def __contains__(self, position: int) -> bool:
        i = bisect.bisect_right(self._starts, position) - 1
        return i >= 0 and position < self._ends[i]

    def __len__(self) -> int:
        return sum(e - s for s, e in zip(self._starts, self._ends, strict=True))


def read_done(folder: Path) -> DoneSet:
    """The positions the journal in `folder` lists as done (none when it has no journal).

    Read only: for a caller that must know, before the run, which inputs it will skip.
    """
    done = DoneSet()
    path = folder / JOURNAL_NAME
    if not path.is_file():
        return done
    torn = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            for start, end in json.loads(line)["done"]:
                done.add(int(start), int(end))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            torn += 1
    if torn:
        logger.warning("checkpoint %s: ignored %d torn record(s)", path, torn)
    return done


def repair_torn_tail(path: Path) -> int:
    """Cut a last line that has no newline (a write cut short); returns the bytes removed.

    Appending after such a line would glue the next record onto it and lose both.
    """
    with path.open("r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        keep = size
        while keep > 0:
            step = min(keep, 64 * 1024)
            handle.seek(keep - step)
            block = handle.read(step)
            newline = block.rfind(b"\n")
            if newline >= 0:
                keep = keep - step + newline + 1
                break
            keep -= step
        if keep == size:
            return 0
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    logger.warning("checkpoint %s: cut a torn last record (%d bytes)", path, size - keep)
    return size - keep


class ResumeJournal:
    """Appends done ranges to `<folder>/journal.jsonl` and remembers earlier runs' ones."""

    def __init__(self, folder: Path, *, resume: bool) -> None:
        self.folder = folder
        self.path = folder / JOURNAL_NAME
        self.done = DoneSet()
        folder.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            if not resume:
                msg = (
                    f"checkpoint folder {folder} holds a journal from an earlier run; pass "
                    "--resume (resume=True) to skip what it finished, or remove the folder"
                )
                raise CurateError(msg)
            self._load()
        self._pending: list[tuple[int, int]] = []
        self._file: IO[str] = self.path.open("a", encoding="utf-8")

    def _load(self) -> None:
        repair_torn_tail(self.path)
        self.done = read_done(self.folder)

    def record(self, ranges: Ranges) -> None:
        """Queue ranges as done; they reach the disk at the next `flush`."""
        self._pending.extend(ranges)

    def flush(self) -> None:
        """Append queued ranges as one line and fsync it."""
        if not self._pending:
            return
        line = json.dumps({"done": self._pending}, separators=(",", ":"))
        self._file.write(line + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        for start, end in self._pending:
            self.done.add(start, end)
        self._pending = []

    def close(self) -> None:
        """Flush and close."""
        self.flush()
        self._file.close()
