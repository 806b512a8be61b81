"""The helper process of `front_process`: runs the leading CPU stages of an in-process run.

Started by `front_process.FrontProcess` as a fresh `python -c ... IN OUT LIFELINE` (three
pipe descriptors): it reads the pickled stages, then rounds of inputs, from IN; sets the
stages up; carries each round through them and sends a `FrontRound` (outputs, failure
records, counts, warnings) to OUT from a thread that keeps at most `BUFFER_BYTES` unsent;
ignores Ctrl-C; exits at once when LIFELINE closes (the run closed it, or its process is
gone).
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import sys
import threading
import traceback
from collections import deque
from multiprocessing.connection import Connection
from typing import Any

import attrs

from cosmos_curate.core.interfaces.results import FailureRecord
from cosmos_curate.core.runtime.errors import StageSetupError
from cosmos_curate.core.runtime.stage_calls import StageCounts, call_stage, set_up_stage
from cosmos_curate.core.runtime.stage_spec import ResolvedStage

BUFFER_BYTES = 256 * 2**20
"""Most bytes of finished rounds the helper holds for the run before it waits."""


@attrs.define
class FrontRound:
    """One round of inputs after the helper's stages."""

    inputs: int
    """How many inputs the round started with."""
    outputs: list[Any]
    counts: list[StageCounts]
    """Each helper stage's counts so far."""
    failures: list[tuple[int, list[FailureRecord], BaseException | None]]
    """(stage index, records, last error) of each batch that failed every attempt."""
    logs: list[logging.LogRecord]
    """The helper's warnings, to be handled here."""


class _Outbox:
    """The helper's messages to the run, sent by a thread, at most `budget` bytes unsent."""

    def __init__(self, conn: Connection, budget: int) -> None:
        self._conn = conn
        self._budget = budget
        self._queue: deque[bytes | None] = deque()
        self._held = 0
        self._broken = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._send, name="front-outbox", daemon=True)
        self._thread.start()

    def put(self, kind: str, payload: Any) -> None:
        """Queue one message; waits while the run has `budget` bytes unread."""
        data = pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
        with self._cond:
            while self._held and self._held + len(data) > self._budget and not self._broken:
                self._cond.wait()
            if self._broken:
                raise SystemExit(0)  # the run is gone: nobody to work for
            self._queue.append(data)
            self._held += len(data)
            self._cond.notify_all()

    def _send(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                data = self._queue[0]
            if data is None:  # `close`: everything before it is sent
                return
            try:
                self._conn.send_bytes(data)
            except OSError:
                with self._cond:
                    self._broken = True
                    self._cond.notify_all()
                return
            with self._cond:
                self._queue.popleft()
                self._held -= len(data)
                self._cond.notify_all()

    def close(self) -> None:
        """Send what is queued (unless the run is gone), then stop the sending thread."""
        with self._cond:
            self._queue.append(None)
            self._cond.notify_all()
        self._thread.join()


class _LogForwarder(logging.Handler):
    """Keeps the helper's warnings for the next message, ready to pickle."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args, record.exc_info = record.getMessage(), None, None
        self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        records, self.records = self.records, []
        return records


def _picklable(error: BaseException | None) -> BaseException | None:
    """`error` when it survives pickling (the run rebuilds its cause), else None."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return None
    return error


def helper_entry() -> None:
    """The helper's `main`: its pipes' descriptors are its arguments."""
    inbox, outbox, lifeline = (int(arg) for arg in sys.argv[1:4])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's to handle
    threading.Thread(target=_end_with_the_run, args=(lifeline,), daemon=True).start()
    _helper_main(Connection(inbox, writable=False), Connection(outbox, readable=False))


def _end_with_the_run(lifeline: int) -> None:
    """Exit at once when the run closes the lifeline or its process is gone (killed, say)."""
    while os.read(lifeline, 1):
        pass
    os._exit(1)


def _helper_main(inbox: Connection, outbox_conn: Connection) -> None:
    """Set the stages up, then carry each round of inputs through them."""
    forwarder = _LogForwarder()
    logging.getLogger().addHandler(forwarder)
    logging.captureWarnings(True)
    outbox = _Outbox(outbox_conn, BUFFER_BYTES)
    set_up: list[ResolvedStage] = []
    try:
        stages: list[ResolvedStage] = pickle.loads(inbox.recv_bytes())
        for stage in stages:
            set_up_stage(stage)
            set_up.append(stage)
        _work(stages, inbox, outbox, forwarder)
    except StageSetupError as exc:
        outbox.put("setup", str(exc))
    except (EOFError, OSError):
        return  # the run is gone
    except Exception:
        outbox.put("crash", traceback.format_exc())
    finally:
        for stage in set_up:
            try:
                stage.stage.destroy()
            except Exception:
                logging.getLogger(__name__).exception("stage %s: destroy failed", stage.name)
        outbox.close()


def _work(
    stages: list[ResolvedStage], inbox: Connection, outbox: _Outbox, forwarder: _LogForwarder
) -> None:
    counts = [StageCounts() for _ in stages]
    while data := inbox.recv_bytes():
        tasks: list[Any] = pickle.loads(data)
        started_with = len(tasks)
        failures: list[tuple[int, list[FailureRecord], BaseException | None]] = []

        def keep(stage: ResolvedStage, records: list[FailureRecord], error: Any) -> None:
            failures.append((stage.index, records, _picklable(error)))  # noqa: B023

        for stage, stage_counts in zip(stages, counts, strict=True):
            if tasks:
                tasks = call_stage(stage, stage_counts, tasks, keep)
        snapshot = [attrs.evolve(c) for c in counts]
        outbox.put("round", FrontRound(started_with, tasks, snapshot, failures, forwarder.take()))
    outbox.put("end", None)
