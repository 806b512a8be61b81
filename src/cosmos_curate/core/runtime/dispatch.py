"""Phase 2 of a round, dispatch: queued chunks to free workers, downstream stages first.

A stage sends a call only while the next stage's queue has room (backpressure). A suspect
chunk (its worker died) runs alone on an idle worker. Call sizes come from `PipelineFlow`.
"""

from __future__ import annotations

import time

from cosmos_curate.core.runtime.flow import PipelineFlow
from cosmos_curate.core.runtime.queues import Chunk
from cosmos_curate.core.runtime.run_state import InFlightCall, RunState
from cosmos_curate.core.runtime.stage_pool import WorkerHandle


def dispatch(state: RunState, flow: PipelineFlow) -> None:
    """Send calls for every stage, last stage first so that work drains before it piles up."""
    for index in reversed(range(len(state.stages))):
        _dispatch_stage(state, flow, index)


def _dispatch_stage(state: RunState, flow: PipelineFlow, index: int) -> None:
    queue, pool, stage = state.queues[index], state.pools[index], state.stages[index]
    desired = flow.desired_call_size(index)
    while queue.tasks and not flow.downstream_full(index):
        front = queue.peek()
        if front is not None and front.suspect:
            # A chunk whose worker died runs alone on an idle worker, so that if it
            # kills this one too there is no doubt which task did it.
            worker = pool.idle_worker()
            if worker is None:
                return
            _submit(state, flow, index, worker, queue.pop_up_to(1), exclusive=True)
            continue
        free = pool.free_slots()
        if not free:
            return
        policy = flow.options.bundle_policy
        size = policy.share_for_idle_slots(
            desired, queue.tasks, pool.free_slot_count(), stage.batch_size
        )
        size = flow.tail_capped(index, size)
        _submit(state, flow, index, free[0], _take(state, flow, index, size), exclusive=False)


def _take(state: RunState, flow: PipelineFlow, index: int, size: int) -> list[Chunk]:
    """Chunks of about `size` tasks from the queue.

    Near the end the front chunk is split when it alone is larger, so that the last
    calls can be as small as the tail needs.
    """
    queue = state.queues[index]
    front = queue.peek()
    tail = flow.in_tail(index)
    if tail and front is not None and front.n_tasks > size:
        batch = state.stages[index].batch_size
        cut = max(batch, size - size % batch)
        if cut < front.n_tasks:
            queue.pop_up_to(1)
            head, rest = front.split(cut)
            queue.push_front([rest])
            state.ledger.split(front.origins, 2)
            return [head]
    # Near the end calls must not outgrow their size, or the tail gets uneven again.
    return queue.pop_up_to(size, exact=tail)


def _submit(
    state: RunState,
    flow: PipelineFlow,
    index: int,
    worker: WorkerHandle,
    chunks: list[Chunk],
    *,
    exclusive: bool,
) -> None:
    n_tasks = sum(c.n_tasks for c in chunks)
    n_parts = flow.parts_for(index, n_tasks)
    state.first_dispatch[index] = min(state.first_dispatch[index], time.monotonic())
    refs = state.pools[index].submit(
        worker,
        n_parts,
        [c.data for c in chunks],
        [c.span for c in chunks],
        n_tasks,
        exclusive=exclusive,
    )
    state.calls[refs[0]] = InFlightCall(index, worker, chunks, n_tasks, list(refs[1:]))
