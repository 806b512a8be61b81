"""Chunks and the queues between stages (pure)."""

from __future__ import annotations

from cosmos_curate.core.runtime.queues import Chunk, ChunkQueue
from cosmos_curate.core.runtime.wire import dumps, loads


def test_queue_pops_reach_the_wanted_size_and_exact_pops_do_not_exceed_it() -> None:
    queue = ChunkQueue()
    for _ in range(4):
        queue.push(Chunk(b"", 13))
    assert sum(c.n_tasks for c in queue.pop_up_to(25)) == 26
    assert sum(c.n_tasks for c in queue.pop_up_to(25, exact=True)) == 13
    assert queue.tasks == 13


def test_a_split_chunk_shares_its_data_and_keeps_every_task_once() -> None:
    chunk = Chunk(dumps(list(range(10))), 10, frozenset({3}), start=0)
    head, rest = chunk.split(4)
    assert head.data is rest.data is chunk.data
    assert (head.n_tasks, rest.n_tasks) == (4, 6)
    tasks = [loads(c.data)[slice(*c.span)] for c in (head, *rest.split(5))]
    assert tasks == [[0, 1, 2, 3], [4, 5, 6, 7, 8], [9]]
    assert head.origins == rest.origins == frozenset({3})
