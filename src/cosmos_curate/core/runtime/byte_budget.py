"""Byte budgets: how much serialized task data each stage boundary may hold. Pure, no Ray.

The run's budget is a fraction (`DEFAULT_STORE_FRACTION`, overridable per run) of the
cluster's object store, split over the stage queues: queue 0 (input chunks the driver
pickled) and queue i (stage i-1's outputs waiting for stage i), in proportion to the
measured bytes per task that flow into each (evenly until measured): every queue may then
hold the same number of tasks, and small-task queues do not sit on bytes that large-task
queues need. A boundary *holds*
the bytes queued for its stage plus the input bytes of that stage's calls in flight, and
*expects* the output of the upstream stage's calls in flight (measured bytes per task out
x tasks). An upstream call is sent only while held + expected + its own output fit the
share: backpressure instead of spilling.

No deadlock by construction: a call too large for its share still goes when the boundary
holds and expects nothing (it then runs one at a time), and the last stage has no
boundary downstream, so work always drains from the end.
"""

from __future__ import annotations

import math

import attrs

DEFAULT_STORE_FRACTION = 0.5
"""Share of the cluster's object store the run's queues and calls in flight may fill."""
METER_SMOOTHING = 0.3
"""Weight of the latest call in the moving average of bytes per task."""


@attrs.frozen
class ByteBudget:
    """The run's byte budget and its even split over `n_queues` stage queues (0: unbounded)."""

    total_bytes: int
    n_queues: int

    @classmethod
    def from_store(cls, store_bytes: float, fraction: float, n_stages: int) -> ByteBudget:
        """`fraction` (`EngineOptions` checked it) of a `store_bytes` store, `n_stages` queues."""
        return cls(int(max(0.0, store_bytes) * fraction), max(1, n_stages))

    @property
    def share(self) -> int:
        """Bytes one stage queue may hold with an even split (0 when there is no budget)."""
        return self.total_bytes // self.n_queues

    def shares(self, bytes_per_task: list[float | None]) -> list[int]:
        """Each queue's share, in proportion to the bytes per task flowing into it.

        An unmeasured queue weighs as much as the heaviest measured one (cautious for the
        others); with nothing measured the split is even.
        """
        known = [b for b in bytes_per_task if b is not None and b > 0]
        if not self.bounded or not known:
            return [self.share] * len(bytes_per_task)
        heaviest = max(known)
        weights = [heaviest if b is None else max(b, heaviest * 1e-6) for b in bytes_per_task]
        total = sum(weights)
        return [int(self.total_bytes * w / total) for w in weights]

    @property
    def bounded(self) -> bool:
        """Whether the budget limits anything (an unknown store size leaves it unbounded)."""
        return self.total_bytes > 0


@attrs.define
class ByteMeter:
    """Measured serialized output bytes per input task of one stage (None until measured)."""

    bytes_per_task: float | None = None
    bytes_out: int = 0

    def record(self, tasks_in: int, bytes_out: int) -> None:
        """Account one finished call's input count and output size."""
        self.bytes_out += bytes_out
        if tasks_in <= 0:
            return
        latest = bytes_out / tasks_in
        if self.bytes_per_task is None:
            self.bytes_per_task = latest
        else:
            self.bytes_per_task += METER_SMOOTHING * (latest - self.bytes_per_task)


def tasks_within_share(
    *,
    share: int,
    used: int,
    bytes_per_task: float | None,
    desired: int,
    batch: int,
    calls_in_flight: int,
) -> int:
    """Tasks the stage's next call may take so its boundary stays within `share`; 0: wait.

    `used`: bytes the boundary holds and expects now. Unmeasured stages (no call returned
    yet) send one call at a time, so a first burst cannot overrun the store. A call that
    alone exceeds the share goes, one batch, only when the boundary is empty.
    """
    if share <= 0:
        return desired
    if bytes_per_task is None:
        return desired if calls_in_flight == 0 else 0
    if bytes_per_task <= 0:
        return desired
    fit = math.floor((share - used) / bytes_per_task)
    if fit >= desired:
        return desired
    fit -= fit % batch
    if fit >= batch:
        return fit
    return batch if used <= 0 else 0


def oversized(share: int, bytes_per_task: float | None, batch: int) -> bool:
    """Whether one batch of the stage's output alone is larger than its boundary's share."""
    return share > 0 and bytes_per_task is not None and bytes_per_task * batch > share


@attrs.define
class BudgetWait:
    """Seconds one stage spent held back by the byte budget."""

    total_s: float = 0.0
    """Finished waits."""
    since: float | None = None
    """Start of the current wait (None: not waiting)."""

    def mark_blocked(self, now: float) -> None:
        """The stage had work and a free worker but the budget held it back."""
        if self.since is None:
            self.since = now

    def mark_unblocked(self, now: float) -> None:
        """The stage is no longer held back by the budget."""
        if self.since is not None:
            self.total_s += now - self.since
            self.since = None

    def waited_s(self, now: float) -> float:
        """Seconds held back so far, the current wait included."""
        return self.total_s + (now - self.since if self.since is not None else 0.0)


@attrs.define
class _SharedObject:
    boundary: int
    live_slices: int
    finished_bytes: int = 0


@attrs.define
class SliceShares:
    """Bytes of finished slices whose shared object is still alive (other slices pending).

    A split chunk's slices share one pickled object (see `queues.Chunk.split`): Ray frees it
    only after its last slice is done, so the budget must not forget a slice when it is.
    Keyed by the identity of the shared data, which the live slices keep alive.
    """

    _objects: dict[int, _SharedObject] = attrs.field(factory=dict)

    def split(self, boundary: int, data: object, pieces: int) -> None:
        """A chunk of `data` at stage `boundary`'s queue became `pieces` slices."""
        entry = self._objects.setdefault(id(data), _SharedObject(boundary, 1))
        entry.live_slices += pieces - 1

    def done(self, data: object, nbytes: int) -> None:
        """A slice (or whole chunk) of `data`, counted as `nbytes`, left the run."""
        entry = self._objects.get(id(data))
        if entry is None:
            return
        entry.live_slices -= 1
        if entry.live_slices <= 0:
            del self._objects[id(data)]
        else:
            entry.finished_bytes += nbytes

    def held(self, boundary: int) -> int:
        """Bytes of finished slices still in the store at stage `boundary`'s queue."""
        return sum(e.finished_bytes for e in self._objects.values() if e.boundary == boundary)


@attrs.define
class ByteAccount:
    """The run's byte bookkeeping, kept in `RunState.bytes` and written by the phases.

    The budget, the input's bytes per task, bytes moved between nodes or kept on their
    node, and what Ray last reported about its object store. Per stage (output meter,
    budget wait) it is in `run_state.StageRun`.
    """

    budget: ByteBudget
    input_meter: ByteMeter = attrs.field(factory=ByteMeter)
    slices: SliceShares = attrs.field(factory=SliceShares)
    """Finished slices of split chunks whose object other slices still keep in the store."""
    """Pickled input bytes per task (what flows into stage 0's queue)."""
    cross_node_bytes: int = 0
    local_bytes: int = 0
    store_used: int = 0
    store_peak: int = 0
    store_capacity: int = 0
    spilled_bytes: int = 0
    """Bytes Ray spilled to disk since the run's first look at the store."""
    spilled_baseline: int | None = None

    @classmethod
    def new(cls, n_stages: int, budget: ByteBudget | None = None) -> ByteAccount:
        """An account for `n_stages` stages (unbounded until a budget is set)."""
        return cls(budget=budget or ByteBudget(0, n_stages))

    def moved(self, nbytes: int, *, cross_node: bool) -> None:
        """A chunk of `nbytes` went to a worker on another node (or its own)."""
        if cross_node:
            self.cross_node_bytes += nbytes
        else:
            self.local_bytes += nbytes

    def observe_store(self, used: int, capacity: int, spilled_total: int) -> None:
        """What Ray reports about its object store now (`spilled_total`: since it started)."""
        if self.spilled_baseline is None:
            self.spilled_baseline = spilled_total
        self.store_used, self.store_capacity = used, capacity
        self.spilled_bytes = spilled_total - self.spilled_baseline
        self.store_peak = max(self.store_peak, used)
