"""An in-process run's leading CPU stages in one helper process, on a second core.

In process, the stages take turns on one core: decoding and preparing inputs waits while the
models import, load and infer. Given two or more CPUs, a run hands its leading stages that
declare no GPU (image-annotate: load, CLIP and caption preparation) to a helper process,
started before the stages left here are set up, so that work overlaps their torch imports,
model loads and inference. The helper gets rounds of inputs through a pipe and sends back
each round's outputs with its failure records, the stages' counts and their warnings, at
most `front_helper.BUFFER_BYTES` ahead of the stages here (it waits when that much is unread).

`front_size` says how many stages go; `FrontProcess` runs them. The helper ignores Ctrl-C
(the run here handles it and ends the helper) and ends by itself when this process is gone.
Imports no Ray.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from multiprocessing.connection import Connection
from typing import Any

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.runtime.errors import StageSetupError
from cosmos_curate.core.runtime.front_helper import FrontRound
from cosmos_curate.core.runtime.stage_calls import in_rounds
from cosmos_curate.core.runtime.stage_spec import ResolvedStage

logger = logging.getLogger(__name__)

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
            for chunk in in_rounds(inputs, self._round_size):
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


_ENTRY = "from cosmos_curate.core.runtime.front_helper import helper_entry; helper_entry()"
