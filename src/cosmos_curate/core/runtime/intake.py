"""Phase 1 of a round, feed: input tasks into stage 0's queue while it has room.

Backpressure starts here: the input iterable is read only as far as stage 0's queue limit
(in tasks and in bytes) allows, so a million-task iterator is never materialised. Each
chunk made here is a new origin in the ledger; positions an earlier run's journal lists
are skipped.
"""

from __future__ import annotations

from cosmos_curate.core.runtime.flow import PipelineFlow
from cosmos_curate.core.runtime.journal import DoneSet
from cosmos_curate.core.runtime.ledger import to_ranges
from cosmos_curate.core.runtime.queues import Chunk
from cosmos_curate.core.runtime.run_state import RunState
from cosmos_curate.core.runtime.wire import dumps


def feed(state: RunState, flow: PipelineFlow, done: DoneSet | None) -> None:
    """Pull input into stage 0's queue, one call's worth per chunk, until it is full.

    Full in tasks (`queue_limit`) or in bytes (stage 0's share of the byte budget: the
    input chunks' pickled sizes are known here).
    """
    while (
        not state.input_exhausted
        and state.stages[0].queue.tasks < flow.queue_limit(0)
        and flow.intake_has_room()
    ):
        size = flow.desired_call_size(0)
        batch, positions = [], []
        for position, task in state.input:
            if done is not None and position in done:
                state.inputs_skipped += 1
                continue
            batch.append(task)
            positions.append(position)
            if len(batch) >= size:
                break
        else:
            state.input_exhausted = True
        if batch:
            state.inputs_read += len(batch)
            origins = state.ledger.new_origin(to_ranges(positions))
            blob = dumps(batch)
            state.bytes.input_meter.record(len(batch), blob.nbytes)
            state.stages[0].queue.push(Chunk(blob, len(batch), origins, nbytes=blob.nbytes))
