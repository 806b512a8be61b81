"""Queues of task chunks between stages, counted in tasks."""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import Any

import attrs


@attrs.frozen
class Chunk:
    """A pickled list of tasks: inline bytes or a Ray object ref to them.

    `origins` are the input chunks it derives from (see `ledger`); `deaths` counts the
    workers that died while holding it (a poison task kills every worker it meets).
    """

    data: Any
    n_tasks: int
    origins: frozenset[int] = frozenset()
    deaths: int = 0
    start: int = 0
    """Index of the chunk's first task in the pickled list (a split chunk is a slice)."""

    @property
    def span(self) -> tuple[int, int]:
        """`(start, stop)` of the chunk's tasks in the pickled list `data`."""
        return self.start, self.start + self.n_tasks

    def split(self, n_tasks: int) -> tuple[Chunk, Chunk]:
        """The first `n_tasks` tasks and the rest, sharing `data` (nothing is re-pickled)."""
        head = attrs.evolve(self, n_tasks=n_tasks)
        rest = attrs.evolve(self, n_tasks=self.n_tasks - n_tasks, start=self.start + n_tasks)
        return head, rest

    @property
    def suspect(self) -> bool:
        """Whether a worker died holding this chunk: it then runs alone."""
        return self.deaths > 0


class ChunkQueue:
    """FIFO of chunks; re-queued chunks (from a dead worker) go to the front."""

    def __init__(self) -> None:
        self._chunks: collections.deque[Chunk] = collections.deque()
        self.tasks = 0

    def __len__(self) -> int:
        return len(self._chunks)

    def peek(self) -> Chunk | None:
        """The chunk that would be popped next."""
        return self._chunks[0] if self._chunks else None

    def push(self, chunk: Chunk) -> None:
        """Append at the back."""
        self._chunks.append(chunk)
        self.tasks += chunk.n_tasks

    def push_front(self, chunks: Iterable[Chunk]) -> None:
        """Put chunks back at the front, keeping their order."""
        for chunk in reversed(list(chunks)):
            self._chunks.appendleft(chunk)
            self.tasks += chunk.n_tasks

    def pop_up_to(self, n_tasks: int, *, exact: bool = False) -> list[Chunk]:
        """At least one chunk, then more while their total is under `n_tasks`.

        The total can exceed `n_tasks` by part of a chunk: chunks come from upstream at
        sizes that rarely add up to `n_tasks`, and stopping short would leave calls half
        the wanted size. With `exact`, it stops before exceeding instead. A suspect chunk
        always travels alone, so a poison task cannot take others down.
        """
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
            self.tasks -= size
        return taken
