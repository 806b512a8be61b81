"""An in-process run's leading CPU stages in one helper process, on a second core.

In process, the stages take turns on one core: decoding and preparing inputs waits while the
models import, load and infer. Given two or more CPUs, a run hands its leading stages that
declare no GPU (image-annotate: load, CLIP and caption preparation) to a helper process,
started before the stages left here are set up, so that work overlaps their torch imports,
model loads and inference. The helper gets rounds of inputs through a pipe and sends back
each round's outputs with its failure records, the stages' counts and their warnings, at
most `BUFFER_BYTES` ahead of the stages here (it waits when that much is unread).

`front_size` says how many stages go; `FrontProcess` runs them. The helper ignores Ctrl-C
(the run here handles it and ends the helper) and ends by itself when this process is gone.
Imports no Ray.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import traceback
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from multiprocessing.connection import Connection
from typing import Any

import attrs

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.interfaces.results import FailureRecord
from cosmos_curate.core.runtime.errors import StageSetupError
from cosmos_curate.core.runtime.stage_calls import StageCounts, call_stage, set_up_stage
from cosmos_curate.core.runtime.stage_spec import ResolvedStage

logger = logging.getLogger(__name__)

BUFFER_BYTES = 256 * 2**20
"""Most bytes of finished rounds the helper holds for this process before it waits."""
JOIN_TIMEOUT_S = 5.0


def front_size(stages: Sequence[ResolvedStage], cpus: float) -> int:
    """How many leading stages go to the helper process (0 with fewer than 2 CPUs).

    Those before the first stage that declares a GPU, never the last one (the writer
    publishes from this process).
    """
    if cpus < 2:
        return 0
    count = 0
    for stage in stages[:-1]:
        if stage.declared_gpus > 0:
            break
        count += 1
    return count


@attrs.define
class FrontRound:
    """One round of inputs after the helper's stages."""

    inputs: int
    """How many inputs the round started with."""
    outputs: list[Any]
    counts: list[StageCounts]
    """Each helper stage's counts so far."""
    failures: list[tuple[int, list[FailureRecord], BaseException | None]]
    """(stage position, records, last error) of each batch that failed every attempt."""
    logs: list[logging.LogRecord]
    """The helper's warnings, to be handled here."""


class FrontProcess:
    """The helper process running `stages` over the inputs; read its rounds with `rounds`."""

    def __init__(self, stages: list[ResolvedStage], blob: bytes, round_size: int) -> None:
        self.stages = stages
        self._round_size = round_size
        inbox, to_helper = os.pipe()
        from_helper, outbox = os.pipe()
        lifeline, self._lifeline = os.pipe()  # closed by this process (or its death): exit
        # a fresh interpreter that imports only this module (no torch, no threads, and not
        # the caller's __main__, which multiprocessing's spawn would run again)
        self._process = subprocess.Popen(
            [sys.executable, "-c", _ENTRY, str(inbox), str(outbox), str(lifeline)],
            pass_fds=(inbox, outbox, lifeline),
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
        for fd in (inbox, outbox, lifeline):
            os.close(fd)
        self._to_helper = Connection(to_helper, readable=False)
        self._from_helper = Connection(from_helper, writable=False)
        self._to_helper.send_bytes(blob)
        self._input_error: BaseException | None = None
        self._feeder: threading.Thread | None = None
        self._ended = False

    @classmethod
    def start(
        cls, stages: list[ResolvedStage], inputs: Iterable[Any], round_size: int
    ) -> FrontProcess | None:
        """The helper started on `stages` and fed `inputs`, or None: the stages stay here.

        None when a stage cannot be pickled (a class defined inside a function, an open
        handle) or names something of the script being run (`__main__`, which the helper
        does not import).
        """
        try:
            blob = pickle.dumps(stages, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # pickle raises several types; any means "keep them here"
            logger.info("the CPU stages stay in this process (cannot pickle them: %s)", exc)
            return None
        if b"__main__" in blob:
            logger.info("the CPU stages stay in this process (they use the running script)")
            return None
        try:
            front = cls(stages, blob, round_size)
        except OSError as exc:
            logger.warning("the CPU stages stay in this process (no helper process: %s)", exc)
            return None
        front._feeder = threading.Thread(
            target=front._feed, args=(iter(inputs),), name="front-feeder", daemon=True
        )
        front._feeder.start()
        return front

    def _feed(self, inputs: Iterator[Any]) -> None:
        """Send the inputs in rounds, then an empty message; an input error is kept for later."""
        try:
            while chunk := [task for _, task in zip(range(self._round_size), inputs, strict=False)]:
                self._to_helper.send_bytes(pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL))
            self._to_helper.send_bytes(b"")
        except (BrokenPipeError, OSError):  # the helper is gone: `rounds` says why
            pass
        except BaseException as exc:  # reading the inputs failed: raised where the run reads
            self._input_error = exc
            with contextlib.suppress(OSError):
                self._to_helper.send_bytes(b"")

    def rounds(self) -> Iterator[FrontRound]:
        """Each round as the helper finishes it; raises what stopped the helper, if anything."""
        while True:
            try:
                data = self._from_helper.recv_bytes()
            except EOFError:
                code = _wait(self._process, JOIN_TIMEOUT_S)
                names = ", ".join(s.name for s in self.stages)
                msg = (
                    f"the helper process running {names} ended (exit code {code}) before "
                    "its work was done"
                )
                raise CurateError(msg) from None
            kind, payload = pickle.loads(data)
            if kind == "round":
                yield payload
            elif kind == "setup":
                raise StageSetupError(payload)
            elif kind == "crash":
                msg = f"the helper process running the CPU stages failed:\n{payload}"
                raise CurateError(msg)
            else:  # "end"
                self._ended = True
                break
        if self._feeder is not None:
            self._feeder.join()
        if self._input_error is not None:
            raise self._input_error

    def close(self) -> None:
        """End the helper, then free its pipes.

        At once when the run stopped before the helper's last round.
        """
        if self._ended:
            _wait(self._process, JOIN_TIMEOUT_S)
        os.close(self._lifeline)  # a helper still running exits now
        if _wait(self._process, JOIN_TIMEOUT_S) is None:
            self._process.kill()
            self._process.wait()
        if self._feeder is not None:  # its pipe's reader is gone: it ends
            self._feeder.join(JOIN_TIMEOUT_S)
        self._to_helper.close()
        self._from_helper.close()


def _wait(process: subprocess.Popen[bytes], timeout: float) -> int | None:
    """The process's exit code once it ends within `timeout`, else None."""
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


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


_ENTRY = "from cosmos_curate.core.runtime.front_process import helper_entry; helper_entry()"


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
    position = {id(stage): i for i, stage in enumerate(stages)}
    while data := inbox.recv_bytes():
        tasks: list[Any] = pickle.loads(data)
        started_with = len(tasks)
        failures: list[tuple[int, list[FailureRecord], BaseException | None]] = []

        def keep(stage: ResolvedStage, records: list[FailureRecord], error: Any) -> None:
            failures.append((position[id(stage)], records, _picklable(error)))  # noqa: B023

        for stage, stage_counts in zip(stages, counts, strict=True):
            if tasks:
                tasks = call_stage(stage, stage_counts, tasks, keep)
        snapshot = [attrs.evolve(c) for c in counts]
        outbox.put("round", FrontRound(started_with, tasks, snapshot, failures, forwarder.take()))
    outbox.put("end", None)
