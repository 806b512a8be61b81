"""Part of phase 3, collect: a call running past its stage's `call_timeout_s` is a failure.

A worker runs its calls one after another, so a call's clock starts when it reaches the
head of its worker's line (first seen there by the driver: at submission for an idle
worker, else when the call before it was collected). Past the limit the worker is killed:
its calls then come back as a dead worker's, and `recovery` re-runs their tasks alone and
quarantines a task that keeps hanging, like any task that kills its workers.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import ray

from cosmos_curate.core.runtime.run_state import InFlightCall, RunState

logger = logging.getLogger(__name__)


def expire_hung_calls(state: RunState, now: float) -> None:
    """Kill the workers whose current call has run past its stage's `call_timeout_s`."""
    timeouts = [stage.spec.call_timeout_s for stage in state.stages]
    if all(timeout is None for timeout in timeouts):
        return
    heads: dict[tuple[int, int], tuple[Any, InFlightCall]] = {}
    for ref, call in state.calls.items():
        if timeouts[call.stage] is None:
            continue
        key = (call.stage, call.worker.worker_id)
        if key not in heads or call.submitted_at < heads[key][1].submitted_at:
            heads[key] = (ref, call)
    for stale in set(state.call_started) - set(state.calls):
        del state.call_started[stale]
    for ref, call in heads.values():
        started = state.call_started.setdefault(ref, now)
        timeout = timeouts[call.stage]
        if timeout is not None and now - started > timeout:
            _kill(state, call, now - started, timeout)
            state.call_started[ref] = math.inf  # killed once; its error comes back soon


def _kill(state: RunState, call: InFlightCall, seconds: float, timeout: float) -> None:
    logger.warning(
        "stage %s: a call has run %.1f s, past call_timeout_s=%g; killing its worker "
        "(its %d task(s) re-run alone; one that hangs again is recorded as failed)",
        state.stages[call.stage].spec.name,
        seconds,
        timeout,
        call.n_tasks,
    )
    state.stages[call.stage].pool.retire(call.worker)  # no new calls; a replacement starts
    try:
        ray.kill(call.worker.actor, no_restart=True)
    except Exception:  # already gone: its calls come back as a dead worker's anyway
        logger.debug("could not kill a hung worker", exc_info=True)
