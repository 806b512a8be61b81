"""Queues of task chunks between stages, counted in tasks and in serialized bytes."""

from __future__ import annotations

import collections
import itertools
import time
from collections.abc import Iterable
from typing import Any

import attrs


@attrs.frozen
class Chunk:
    """A pickled list of tasks: an inline `WireBlob` or a Ray object ref to one.

    `origins` are the input chunks it derives from (see `ledger`); `deaths` counts the
    workers that died while holding it (a poison task kills every worker it meets);
    `nbytes` is its serialized size (a slice counts its share) and `node_id` the node
    whose worker produced it (None: made by the driver).
    """

    data: Any
    n_tasks: int
    origins: frozenset[int] = frozenset()
    deaths: int = 0
    start: int = 0
    """Index of the chunk's first task in the pickled list (a split chunk is a slice)."""
    nbytes: int = attrs.field(default=0, kw_only=True)
    node_id: str | None = attrs.field(default=None, kw_only=True)
    queued_at: float = attrs.field(default=0.0, kw_only=True, eq=False)
    """When it was first queued (monotonic; 0 until then): how long it waited for a worker."""

    @property
    def span(self) -> tuple[int, int]:
        """`(start, stop)` of the chunk's tasks in the pickled list `data`."""
        return self.start, self.start + self.n_tasks

    def split(self, n_tasks: int) -> tuple[Chunk, Chunk]:
        """The first `n_tasks` tasks and the rest, sharing `data` (nothing is re-pickled)."""
        head_bytes = self.nbytes * n_tasks // max(1, self.n_tasks)
        head = attrs.evolve(self, n_tasks=n_tasks, nbytes=head_bytes)
        rest = attrs.evolve(
            self,
            n_tasks=self.n_tasks - n_tasks,
            start=self.start + n_tasks,
            nbytes=self.nbytes - head_bytes,
        )
        return head, rest

    @property
    def suspect(self) -> bool:
        """Whether a worker died holding this chunk: it then runs alone."""
        return self.deaths > 0


LOCAL_LOOKAHEAD = 64
"""How far into a queue `pop_up_to` looks for chunks made on the consumer's node."""


class ChunkQueue:
    """FIFO of chunks; re-queued chunks (from a dead worker) go to the front."""

    def __init__(self) -> None:
        self._chunks: collections.deque[Chunk] = collections.deque()
        self.tasks = 0
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._chunks)

    def peek(self) -> Chunk | None:
        """The chunk that would be popped next."""
        return self._chunks[0] if self._chunks else None

    def push(self, chunk: Chunk) -> None:
        """Append at the back (stamping when it was queued)."""
        if not chunk.queued_at:
            chunk = attrs.evolve(chunk, queued_at=time.monotonic())
        self._chunks.append(chunk)
        self.tasks += chunk.n_tasks
        self.bytes += chunk.nbytes

    def push_front(self, chunks: Iterable[Chunk]) -> None:
        """Put chunks back at the front, keeping their order."""
        for chunk in reversed(list(chunks)):
            self._chunks.appendleft(chunk)
            self.tasks += chunk.n_tasks
            self.bytes += chunk.nbytes

    def first_local(self, node_id: str) -> Chunk | None:
        """The first non-suspect chunk made on `node_id` within the lookahead."""
        for chunk in itertools.islice(self._chunks, LOCAL_LOOKAHEAD):
            if chunk.node_id == node_id and not chunk.suspect:
                return chunk
        return None

    def take(self, chunk: Chunk) -> None:
        """Remove `chunk` (a queued one) from wherever it is."""
        self._chunks.remove(chunk)
        self._account_pop(chunk)

    def has_node(self, node_id: str) -> bool:
        """Whether a chunk made on `node_id` lies within the lookahead."""
        return any(
            c.node_id == node_id for c in itertools.islice(self._chunks, LOCAL_LOOKAHEAD)
        )

    def pop_up_to(
        self, n_tasks: int, *, exact: bool = False, node_id: str | None = None
    ) -> list[Chunk]:
        """At least one chunk, then more while their total is under `n_tasks`.

        The total can exceed `n_tasks` by part of a chunk: chunks come from upstream at
        sizes that rarely add up to `n_tasks`, and stopping short would leave calls half
        the wanted size. With `exact`, it stops before exceeding instead. A suspect chunk
        always travels alone, so a poison task cannot take others down. With `node_id`,
        chunks made on that node (within `LOCAL_LOOKAHEAD`) are taken first: their bytes
        need not cross the network.
        """
        if node_id is not None and not (self._chunks and self._chunks[0].suspect):
            local = self._pop_local(n_tasks, exact=exact, node_id=node_id)
            if local:
                return local
        taken: list[Chunk] = []
        total = 0
        while self._chunks:
            size = self._chunks[0].n_tasks
            full = total + size > n_tasks if exact else total >= n_tasks
            if taken and (full or self._chunks[0].suspect or taken[0].suspect):
                break
            chunk = self._chunks.popleft()
            taken.append(chunk)
            total += size
            self._account_pop(chunk)
        return taken

    def _pop_local(self, n_tasks: int, *, exact: bool, node_id: str) -> list[Chunk]:
        taken: list[Chunk] = []
        total = 0
        for chunk in list(itertools.islice(self._chunks, LOCAL_LOOKAHEAD)):
            if chunk.node_id != node_id or chunk.suspect:
                continue
            full = total + chunk.n_tasks > n_tasks if exact else total >= n_tasks
            if taken and full:
                break
            self._chunks.remove(chunk)
            taken.append(chunk)
            total += chunk.n_tasks
            self._account_pop(chunk)
        return taken

    def _account_pop(self, chunk: Chunk) -> None:
        self.tasks -= chunk.n_tasks
        self.bytes -= chunk.nbytes
