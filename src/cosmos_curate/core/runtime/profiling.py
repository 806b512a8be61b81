"""`--profile cpu,memory,gpu`: which workers profile what, and the profiler a worker runs.

`profile_kinds` checks the request (RunOptions' converter); `with_profiles` hands each
stage's workers a `ProfileRequest` (gpu only to stages that declare a GPU, as torch's
profiler has nothing to add elsewhere); `WorkerProfiler` runs the requested profilers
(`profilers`) around the worker's calls and writes their files and summaries to the
stage's folder under the run folder (`core.runs.profiles`) when flushed: when the worker
is retired, and when the run ends, before workers are killed. No Ray here.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from cosmos_curate.core.runtime.errors import ProfileRequestError

logger = logging.getLogger(__name__)

PROFILE_KINDS = ("cpu", "memory", "gpu")


@attrs.frozen
class ProfileRequest:
    """What one stage's workers profile (`kinds`) and where they write (`folder`)."""

    kinds: tuple[str, ...]
    folder: str


def profile_kinds(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """`"cpu,memory"`, a list of kinds or None, checked, as a tuple in canonical order.

    Raises `ProfileRequestError` naming an unknown kind.
    """
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    kinds = {str(item).strip().lower() for item in items if str(item).strip()}
    unknown = sorted(kinds - set(PROFILE_KINDS))
    if unknown:
        msg = (
            f"--profile {', '.join(unknown)}: not a profile kind; "
            f"give one or more of {', '.join(PROFILE_KINDS)}, e.g. --profile cpu,memory"
        )
        raise ProfileRequestError(msg)
    return tuple(kind for kind in PROFILE_KINDS if kind in kinds)


def with_profiles(stages: list[Any], kinds: tuple[str, ...], run_dir: Path) -> list[Any]:
    """`stages` (`ResolvedStage`s) whose workers profile `kinds` into the run folder.

    `gpu` applies to stages that declare a GPU (on CPU fallback too); a stage left with
    nothing to profile is returned as it was.
    """
    if not kinds:
        return stages
    from cosmos_curate.core.runs.profiles import stage_folder  # not at import: core.runs is big

    profiled = []
    for stage in stages:
        wanted = tuple(k for k in kinds if k != "gpu" or stage.declared_gpus > 0)
        if not wanted:
            profiled.append(stage)
            continue
        request = ProfileRequest(wanted, str(stage_folder(run_dir, stage.name)))
        config = attrs.evolve(stage.worker_config, profile=request)
        profiled.append(attrs.evolve(stage, worker_config=config))
    return profiled


class WorkerProfiler:
    """The profilers one worker runs; a profiler that cannot start is one warning, skipped."""

    def __init__(self, request: ProfileRequest, stage: str) -> None:
        from cosmos_curate.core.runtime import profilers

        self._folder = Path(request.folder)
        self._stage = stage
        self._worker = f"{socket.gethostname()}-{os.getpid()}"
        makers = {
            "cpu": profilers.CpuProfiler,
            "memory": profilers.MemoryProfiler,
            "gpu": profilers.TorchProfiler,
        }
        self._profilers: list[Any] = []
        # torch's first: importing torch under tracemalloc would take minutes.
        for kind in sorted(request.kinds, key=lambda k: k != "gpu"):
            try:
                self._profilers.append(makers[kind]())
            except Exception as exc:  # a missing package must not stop the stage
                logger.warning(
                    "stage %s: --profile %s is off for this worker: %s: %s",
                    stage, kind, type(exc).__name__, exc,
                )  # fmt: skip

    @contextmanager
    def call(self, *, gpu: bool = True) -> Iterator[None]:
        """Profile the block (`gpu=False`: leave torch's profiler out, e.g. for set-up)."""
        active = [p for p in self._profilers if gpu or p.kind != "gpu"]
        active.sort(key=lambda p: p.kind != "cpu")
        for profiler in active:  # pyinstrument first and last: it sees the others' cost
            profiler.start()
        try:
            yield
        finally:
            for profiler in reversed(active):
                profiler.stop()

    def after_batch(self) -> None:
        """Called with a batch's outputs still alive (the memory profiler's moment)."""
        for profiler in self._profilers:
            if profiler.kind == "memory":
                profiler.after_batch()

    def flush(self) -> list[str]:
        """Write every profiler's files and summary; returns the summaries' paths."""
        from cosmos_curate.core.runs.profiles import write_summary

        written = []
        for profiler in self._profilers:
            try:
                summary = profiler.write(self._folder, self._stage, self._worker)
                if summary is not None:
                    written.append(str(write_summary(self._folder, summary)))
            except Exception:  # one broken profiler must not lose the others' files
                logger.exception(
                    "stage %s: writing the %s profile failed", self._stage, profiler.kind
                )
        return written
