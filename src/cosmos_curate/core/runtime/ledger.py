"""Which input tasks have fully left the pipeline, through fan-out and merging.

Every chunk the feeder makes is an *origin* covering some input positions. Each chunk in
the pipeline carries the set of origins it derives from; the ledger counts, per origin, the
chunks still alive (queued or in flight). When the count drops to zero every descendant
of those inputs has been delivered, dropped or recorded as failed: the origin is done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Ranges = tuple[tuple[int, int], ...]


class InputLedger:
    """Reference counts of live chunks per origin; calls `on_done(ranges)` when one ends."""

    def __init__(self, on_done: Callable[[Ranges], None] | None = None) -> None:
        self._live: dict[int, int] = {}
        self._ranges: dict[int, Ranges] = {}
        self._next_origin = 0
        self._on_done = on_done
        self.inputs_done = 0

    def new_origin(self, ranges: Ranges) -> frozenset[int]:
        """Register a feeder chunk covering `ranges` of input positions; returns its origins."""
        origin = self._next_origin
        self._next_origin += 1
        self._live[origin] = 1
        self._ranges[origin] = ranges
        return frozenset((origin,))

    def derive(self, origins: Iterable[int], n_chunks: int) -> None:
        """`n_chunks` new chunks now derive from `origins`."""
        if n_chunks <= 0:
            return
        for origin in origins:
            self._live[origin] += n_chunks

    def split(self, origins: frozenset[int], n_pieces: int) -> None:
        """One chunk deriving from `origins` is replaced by `n_pieces` chunks."""
        self.derive(origins, n_pieces)
        self.release(origins)

    def release(self, origins: Iterable[int]) -> None:
        """One chunk deriving from `origins` is gone (consumed, delivered or quarantined)."""
        for origin in origins:
            left = self._live[origin] - 1
            if left:
                self._live[origin] = left
                continue
            del self._live[origin]
            ranges = self._ranges.pop(origin)
            self.inputs_done += sum(end - start for start, end in ranges)
            if self._on_done is not None:
                self._on_done(ranges)

    @property
    def live_origins(self) -> int:
        """Origins with descendants still in the pipeline."""
        return len(self._live)


def to_ranges(positions: list[int]) -> Ranges:
    """Sorted positions as half-open ranges: [0, 1, 2, 5] -> ((0, 3), (5, 6))."""
    ranges: list[tuple[int, int]] = []
    for pos in positions:
        if ranges and ranges[-1][1] == pos:
            ranges[-1] = (ranges[-1][0], pos + 1)
        else:
            ranges.append((pos, pos + 1))
    return tuple(ranges)
