"""Phase 2 of a round, dispatch: queued chunks to free workers, downstream stages first.

A stage sends a call only while the next stage's queue has room, in tasks and in bytes
(backpressure; see `byte_budget`). A suspect chunk (its worker died) runs alone on an idle
worker. Call sizes come from `PipelineFlow`. With locality on, a call goes preferably to a
free worker on the node where its chunks were made, and takes that node's chunks first.
"""

from __future__ import annotations

import logging
import time

from cosmos_curate.core.runtime.flow import PipelineFlow
from cosmos_curate.core.runtime.queues import Chunk
from cosmos_curate.core.runtime.run_state import InFlightCall, RunState
from cosmos_curate.core.runtime.stage_pool import WorkerHandle, WorkerState
from cosmos_curate.presentation.format import format_bytes

logger = logging.getLogger(__name__)


def dispatch(state: RunState, flow: PipelineFlow) -> None:
    """Send calls for every stage, last stage first so that work drains before it piles up."""
    for index in reversed(range(len(state.stages))):
        _dispatch_stage(state, flow, index)


def _dispatch_stage(state: RunState, flow: PipelineFlow, index: int) -> None:
    stage = state.stages[index]
    queue, pool = stage.queue, stage.pool
    desired = flow.desired_call_size(index)
    while queue.tasks and not flow.downstream_full(index):
        front = queue.peek()
        if front is not None and front.suspect:
            # A chunk whose worker died runs alone on an idle worker, so that if it
            # kills this one too there is no doubt which task did it.
            worker = pool.idle_worker()
            if worker is None or not _budget_allows(
                state, flow, index, flow.size_within_budget(index, 1)
            ):
                return
            _submit(state, flow, index, worker, queue.pop_up_to(1), exclusive=True)
            continue
        free = pool.free_slots()
        if not free:
            return
        policy = flow.options.bundle_policy
        size = policy.share_for_idle_slots(
            desired, queue.tasks, pool.free_slot_count(), stage.spec.batch_size
        )
        wanted = flow.tail_capped(index, size)
        size = flow.size_within_budget(index, wanted)
        if not _budget_allows(state, flow, index, size):
            return
        worker = _pick_worker(state, flow, index, free)
        if worker is None:
            return  # the queued chunks wait a moment for a worker on their own node
        node = worker.node_id if flow.options.locality else None
        chunks = _take(state, flow, index, size, node, strict=size < wanted)
        _submit(state, flow, index, worker, chunks, exclusive=False)


def _budget_allows(state: RunState, flow: PipelineFlow, index: int, size: int) -> bool:
    """Whether a call of `size` tasks (already cut to the budget) may go now.

    Keeps the stage's budget-wait clock and warns once when one call exceeds its share.
    """
    stage, now = state.stages[index], time.monotonic()
    if size <= 0:
        stage.budget_wait.mark_blocked(now)
        return False
    stage.budget_wait.mark_unblocked(now)
    if not stage.oversize_warned and flow.output_oversized(index):
        stage.oversize_warned = True
        logger.warning(
            "stage %s: one call's output (~%s) is larger than its share of the object store "
            "budget (%s); its calls run one at a time (raise object_store_fraction or the "
            "object store size to overlap them)",
            stage.spec.name,
            format_bytes((stage.meter.bytes_per_task or 0.0) * stage.spec.batch_size),
            format_bytes(state.byte_share(index + 1)),
        )
    return True


def _pick_worker(
    state: RunState, flow: PipelineFlow, index: int, free: list[WorkerHandle]
) -> WorkerHandle | None:
    """The least-loaded free worker; with locality, one on a node whose chunks are queued.

    The front chunk's node first (FIFO order kept when possible), then any free worker
    whose node made a chunk within the queue's lookahead. A chunk whose node has workers
    of this stage, all busy or starting, waits up to `locality_wait_s` for one of them rather than
    cross the network (delay scheduling): None then.
    """
    if not flow.options.locality:
        return free[0]
    queue = state.stages[index].queue
    front = queue.peek()
    for worker in free:
        if front is not None and front.node_id is not None and worker.node_id == front.node_id:
            return worker
    for worker in free:
        if worker.node_id is not None and queue.has_node(worker.node_id):
            return worker
    if front is None or front.node_id is None:
        return free[0]
    waited = time.monotonic() - front.queued_at
    # A worker pinned to the chunk's node that is still starting counts too: it comes.
    has_home = any(
        w.node_id == front.node_id and w.state is not WorkerState.DRAINING
        for w in state.stages[index].pool.workers
    )
    if has_home and waited < flow.options.locality_wait_s:
        return None
    return free[0]


def _take(
    state: RunState,
    flow: PipelineFlow,
    index: int,
    size: int,
    node_id: str | None,
    *,
    strict: bool,
) -> list[Chunk]:
    """Chunks of about `size` tasks from the queue (made on `node_id` first, if given).

    Near the end, or when the byte budget cut the call (`strict`), calls must not outgrow
    `size`: the chunk to take is split when it alone is larger (the pieces share its
    pickled data), so the last calls can be as small as the tail needs and a call's
    output fits the room downstream.
    """
    queue = state.stages[index].queue
    exact = strict or flow.in_tail(index)
    if exact:
        chosen = queue.first_local(node_id) if node_id is not None else None
        chunk = chosen or queue.peek()
        batch = state.stages[index].spec.batch_size
        cut = max(batch, size - size % batch)
        if chunk is not None and not chunk.suspect and cut < chunk.n_tasks:
            queue.take(chunk)
            head, rest = chunk.split(cut)
            queue.push_front([rest])
            state.split_chunk(index, chunk, [head, rest])
            return [head]
    return queue.pop_up_to(size, exact=exact, node_id=node_id)


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
    stage = state.stages[index]
    stage.first_dispatch = min(stage.first_dispatch, time.monotonic())
    for chunk in chunks:
        if chunk.node_id is not None and worker.node_id is not None:
            state.bytes.moved(chunk.nbytes, cross_node=chunk.node_id != worker.node_id)
    refs = stage.pool.submit(
        worker,
        n_parts,
        [c.data for c in chunks],
        [c.span for c in chunks],
        n_tasks,
        exclusive=exclusive,
    )
    per_task = stage.meter.bytes_per_task or 0.0
    state.calls[refs[0]] = InFlightCall(
        index,
        worker,
        chunks,
        n_tasks,
        list(refs[1:]),
        in_bytes=sum(c.nbytes for c in chunks),
        expected_out_bytes=int(per_task * n_tasks),
    )
