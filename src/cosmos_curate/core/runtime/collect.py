"""Phase 3 of a round, collect: finished calls and setups, and what they change.

A finished call's outputs go downstream by reference (or into the run's outputs at the
last stage), its failure records to the log, its measurements to the stage's stats, and
its input chunks leave the ledger. A call whose worker died goes to `recovery`. A finished
setup makes its worker ready; a stage whose setups keep failing stops the run.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import ray
from ray.exceptions import ObjectLostError, RayActorError, RayTaskError, WorkerCrashedError

from cosmos_curate.core.runtime.errors import StageSetupError
from cosmos_curate.core.runtime.failure_policy import stop_unless_ignored
from cosmos_curate.core.runtime.failures import FailureLog
from cosmos_curate.core.runtime.queues import Chunk
from cosmos_curate.core.runtime.recovery import (
    one_line,
    record_broken_call,
    requeue_dead_worker_call,
)
from cosmos_curate.core.runtime.run_options import EngineOptions
from cosmos_curate.core.runtime.run_state import InFlightCall, PendingSetup, RunState
from cosmos_curate.core.runtime.stage_pool import WorkerState
from cosmos_curate.core.runtime.wire import CallReport, SetupReport, loads

if TYPE_CHECKING:
    from cosmos_curate.core.runtime.stage_save import StageSaver
    from cosmos_curate.core.runtime.tracing import TaskTracer

logger = logging.getLogger(__name__)

DEAD_WORKER_ERRORS = (RayActorError, WorkerCrashedError)
MAX_SETUP_FAILURES_WITHOUT_READY = 10
"""With `max_setup_failure_percentage`, failed setups in a row (no worker ready) that stop
the run anyway: a setup that never works must not retry forever."""


def collect(
    state: RunState,
    options: EngineOptions,
    failures: FailureLog,
    timeout_s: float,
    *,
    saver: StageSaver | None = None,
    tracer: TaskTracer | None = None,
) -> None:
    """Wait up to `timeout_s` for a call or setup to finish; handle every one that did.

    `saver`: keeps sampled calls of the stages `--stage-save` names; `tracer`: a span per
    task of each call that came back (`--otlp-endpoint`).
    """
    pending = [*state.calls, *state.setups]
    if not pending:
        time.sleep(timeout_s)
        return
    ready, rest = ray.wait(pending, num_returns=1, timeout=timeout_s, fetch_local=False)
    if ready and rest:
        more, _ = ray.wait(rest, num_returns=len(rest), timeout=0, fetch_local=False)
        ready.extend(more)
    for ref in ready:
        if ref in state.calls:
            call = state.calls.pop(ref)
            _finish_call(state, options, failures, ref, call, saver=saver, tracer=tracer)
        else:
            _finish_setup(state, options, ref, state.setups.pop(ref))


def _finish_setup(state: RunState, options: EngineOptions, ref: Any, setup: PendingSetup) -> None:
    pool = state.stages[setup.stage].pool
    try:
        report: SetupReport = ray.get(ref)
    except DEAD_WORKER_ERRORS as exc:
        # The process died (killed, out of memory, node lost): a replacement starts at
        # the next plan; only a stage whose workers keep dying in setup stops the run.
        pool.on_died_in_setup(setup.worker)
        _check_setup_deaths(state, options, setup.stage, exc)
        return
    except RayTaskError as exc:
        pool.on_setup_failed(setup.worker)
        _check_setup_failures(state, setup.stage, exc)
        return
    if pool.is_live(setup.worker):
        pool.on_setup_done(setup.worker, report)
        state.last_worker_ready = time.monotonic()


def _check_setup_failures(state: RunState, index: int, exc: Exception) -> None:
    """Stop the run when a stage's setups keep failing.

    Default: `setup_attempts` failures in a row, stage-wide, while no worker of the stage is
    ready. With `max_setup_failure_percentage`, failed workers are replaced and the run stops
    once, with no setup of the stage pending, more than that share of its setups failed
    (or `MAX_SETUP_FAILURES_WITHOUT_READY` failed in a row with none ready).
    """
    stage, pool = state.stages[index].spec, state.stages[index].pool
    cause = exc.cause if isinstance(exc, RayTaskError) and exc.cause else exc
    logger.warning("stage %s: worker setup failed: %s", stage.name, one_line(cause))
    none_ready = pool.count(WorkerState.READY) == 0
    percentage = stage.max_setup_failure_percentage
    if percentage is None:
        stop = pool.setup_failures_in_a_row >= stage.setup_attempts and none_ready
    else:
        finished = pool.total_setup_failures + pool.total_setups_done
        share = 100.0 * pool.total_setup_failures / finished
        stop = (share > percentage and not pool.setups_pending) or (
            none_ready
            and pool.setup_failures_in_a_row
            >= max(stage.setup_attempts, MAX_SETUP_FAILURES_WITHOUT_READY)
        )
    if stop:
        msg = (
            f"stage {stage.name}: stage_setup failed {pool.total_setup_failures} time(s) "
            f"({pool.setup_failures_in_a_row} in a row): {one_line(cause)}"
        )
        raise StageSetupError(msg) from cause


def _check_setup_deaths(
    state: RunState, options: EngineOptions, index: int, exc: Exception
) -> None:
    stage, pool = state.stages[index].spec, state.stages[index].pool
    logger.warning("stage %s: a worker died during setup: %s", stage.name, one_line(exc))
    limit = options.max_setup_deaths_in_a_row
    if pool.setup_deaths_in_a_row >= limit and pool.count(WorkerState.READY) == 0:
        msg = (
            f"stage {stage.name}: {pool.setup_deaths_in_a_row} workers in a row died during "
            f"setup ({one_line(exc)}); does stage_setup crash the process or run out of "
            "memory?"
        )
        raise StageSetupError(msg) from exc


def _finish_call(
    state: RunState,
    options: EngineOptions,
    failures: FailureLog,
    ref: Any,
    call: InFlightCall,
    *,
    saver: StageSaver | None = None,
    tracer: TaskTracer | None = None,
) -> None:
    stage = state.stages[call.stage]
    pool = stage.pool
    try:
        report: CallReport = ray.get(ref)
    except DEAD_WORKER_ERRORS:
        requeue_dead_worker_call(state, options, failures, call)
        return
    except (RayTaskError, ObjectLostError) as exc:
        # ObjectLostError: an input chunk lived on a node that is gone. Re-running its
        # producer could duplicate its siblings, so these tasks become failure records.
        pool.on_call_done(call.worker, call.n_tasks)
        record_broken_call(state, failures, call, exc)
        return
    pool.on_call_done(call.worker, call.n_tasks)
    if saver is not None:  # before failures are handled: the call that stops a run is kept
        saver.offer(call, report)
    if tracer is not None:
        tracer.on_call(stage.spec.name, call, report)
    stats = stage.stats
    state.newly_measured |= stats.seconds_per_task is None
    stats.record_call(
        tasks_in=report.tasks_in,
        tasks_out=sum(report.part_counts),
        failed=len(report.failures),
        process_seconds=report.process_seconds,
        deserialize_seconds=report.deserialize_seconds,
        deserialize_bytes=report.deserialize_bytes,
        gap_seconds=report.gap_seconds,
    )
    stage.meter.record(report.tasks_in, sum(report.part_bytes))
    stats.cpu_percent_by_worker[call.worker.worker_id] = report.cpu_percent
    stats.rss_by_worker[call.worker.worker_id] = report.rss_bytes
    live = [worker.worker_id for worker in pool.workers]
    stats.usage.observe(
        time.monotonic(),
        sum(stats.cpu_percent_by_worker.get(w, 0.0) for w in live),
        sum(stats.rss_by_worker.get(w, 0) for w in live),
    )
    if report.failures:
        for failure in report.failures:
            failures.write(failure)
        # Raised before the call's inputs are released: the journal keeps them to redo.
        stop_unless_ignored(stage.spec, report.failures, failures.path, report.error)
        if stage.spec.reset_workers_on_failure:
            pool.retire(call.worker)  # its other calls finish first; a new one replaces it
    _forward(state, options, call, report)


def _forward(
    state: RunState, options: EngineOptions, call: InFlightCall, report: CallReport
) -> None:
    """Queue the call's outputs downstream (or collect them) and settle the ledger.

    A part remembers its size and the node it was made on (byte budget, locality).
    """
    origins = frozenset().union(*(c.origins for c in call.chunks))
    counts = report.part_counts
    sizes = report.part_bytes or (0,) * len(counts)
    parts = [(p, c, n) for p, c, n in zip(call.part_refs, counts, sizes, strict=True) if c]
    if not state.is_last(call.stage):
        queue = state.stages[call.stage + 1].queue
        state.ledger.derive(origins, len(parts))
        for part, count, nbytes in parts:
            queue.push(Chunk(part, count, origins, nbytes=nbytes, node_id=call.worker.node_id))
    else:
        state.n_outputs += sum(counts)
        if options.collect_outputs:
            # Copied out of the object store: the outputs the caller keeps own their memory.
            for blob in ray.get([p for p, _, _ in parts]):
                state.outputs.extend(loads(blob, copy=True))
    for chunk in call.chunks:
        state.release_chunk(chunk)
