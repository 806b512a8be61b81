"""Everything that changes while a run goes, in one record written by the engine alone.

The engine's phases (`intake`, `dispatch`, `collect`, `recovery`, `scaling`) write it;
`flow.PipelineFlow` and `progress` only read it. Each stage's share of it is one
`StageRun` in `RunState.stages`, in pipeline order; a stage is named by its position there
(`InFlightCall.stage`). No Ray import: the pools' type is named for the type checker only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs

from cosmos_curate.core.runtime.byte_budget import BudgetWait, ByteAccount, ByteMeter
from cosmos_curate.core.runtime.ledger import InputLedger
from cosmos_curate.core.runtime.planner import NodeCapacity
from cosmos_curate.core.runtime.queues import Chunk, ChunkQueue
from cosmos_curate.core.runtime.stage_spec import ResolvedStage
from cosmos_curate.core.runtime.stats import StageStats

if TYPE_CHECKING:
    from cosmos_curate.core.runtime.stage_pool import StagePool, WorkerHandle


@attrs.define(eq=False)
class StageRun:
    """One stage's live state in a run: its queue, workers, measurements and targets."""

    spec: ResolvedStage
    pool: StagePool
    """Its workers."""
    queue: ChunkQueue = attrs.field(factory=ChunkQueue)
    """Chunks waiting for this stage (its input queue)."""
    stats: StageStats = attrs.field(factory=StageStats)
    target: int = 0
    """Worker count the planner last chose."""
    target_changes: int = 0
    last_resize: float = -math.inf
    first_dispatch: float = math.inf
    """When the stage got its first call (inf until then)."""
    meter: ByteMeter = attrs.field(factory=ByteMeter)
    """Its output's serialized bytes per input task."""
    budget_wait: BudgetWait = attrs.field(factory=BudgetWait)
    """Time it spent held back by the byte budget."""
    oversize_warned: bool = False
    """Whether the run already warned that one call's output exceeds its share."""


@attrs.define(eq=False)
class InFlightCall:
    """A `process` call sent to a worker, keyed in `RunState.calls` by its report ref."""

    stage: int
    """Its stage's position in `RunState.stages`."""
    worker: WorkerHandle
    chunks: list[Chunk]
    n_tasks: int
    part_refs: list[Any]
    in_bytes: int = 0
    """Serialized bytes of its input chunks (held in the object store while it runs)."""
    expected_out_bytes: int = 0
    """Output bytes expected from it (the stage's measured bytes per task x tasks)."""
    submitted_at: float = attrs.field(factory=time.monotonic)


@attrs.define(eq=False)
class PendingSetup:
    """A worker's `setup` call, keyed in `RunState.setups` by its ref."""

    stage: int
    worker: WorkerHandle


@attrs.define(eq=False)
class RunState:
    """The live state of one run: its stages, calls in flight, input position and counters."""

    stages: list[StageRun]
    """One record per stage, in pipeline order."""
    ledger: InputLedger
    input: Iterator[tuple[int, Any]] = attrs.field(factory=lambda: iter(()))
    """The input tasks with their positions, consumed lazily by `intake`."""
    input_exhausted: bool = False
    inputs_read: int = 0
    inputs_skipped: int = 0
    calls: dict[Any, InFlightCall] = attrs.field(factory=dict)
    setups: dict[Any, PendingSetup] = attrs.field(factory=dict)
    outputs: list[Any] = attrs.field(factory=list)
    """The last stage's outputs, when collected."""
    n_outputs: int = 0
    nodes: tuple[NodeCapacity, ...] = ()
    nodes_read_at: float = -math.inf
    newly_measured: bool = False
    """A stage got its first measurement: re-plan now."""
    last_worker_ready: float = -math.inf
    started: float = attrs.field(factory=time.monotonic)
    rounds: int = 0
    round_seconds: float = 0.0
    plan_rounds: int = 0
    bytes: ByteAccount = attrs.field(factory=lambda: ByteAccount.new(0))
    """Byte budget, input bytes per task, cross-node bytes, store use (per stage: `StageRun`)."""
    call_started: dict[Any, float] = attrs.field(factory=dict)
    """When the call at the head of its worker's line was first seen there (see `watchdog`)."""

    @classmethod
    def new(
        cls, stages: list[ResolvedStage], pools: list[StagePool], ledger: InputLedger
    ) -> RunState:
        """A state with empty queues and counters for `stages`, run by `pools` (one each)."""
        return cls(
            stages=[StageRun(s, p) for s, p in zip(stages, pools, strict=True)],
            ledger=ledger,
            bytes=ByteAccount.new(len(stages)),
        )

    def is_last(self, index: int) -> bool:
        """Whether stage `index` is the pipeline's last (its outputs go to the driver)."""
        return index + 1 >= len(self.stages)

    def release_chunk(self, chunk: Chunk) -> None:
        """`chunk` left the run (done or failed): settle its inputs and its share of bytes."""
        self.ledger.release(chunk.origins)
        self.bytes.slices.done(chunk.data, chunk.nbytes)

    def split_chunk(self, index: int, chunk: Chunk, pieces: list[Chunk]) -> None:
        """`chunk`, at stage `index`'s queue, is replaced by `pieces` (the caller queues them).

        Each piece then counts as a chunk of `chunk`'s inputs, released one by one with
        `release_chunk`. Pieces that share `chunk.data` (`Chunk.split`) keep its object
        counted at the boundary until the last of them leaves; pieces with data of their own
        (re-pickled) let `chunk`'s share go now.
        """
        self.ledger.split(chunk.origins, len(pieces))
        if all(piece.data is chunk.data for piece in pieces):
            self.bytes.slices.split(index, chunk.data, len(pieces))
        else:
            self.bytes.slices.done(chunk.data, chunk.nbytes)

    def boundary_bytes(self, index: int) -> tuple[int, int]:
        """(held, expected) bytes at the queue of stage `index` (see `byte_budget`).

        Held: queued for the stage, the inputs of its calls in flight and finished slices of
        split chunks still in the store; expected: the output of the upstream stage's calls
        in flight (nothing for stage 0).
        """
        held = self.stages[index].queue.bytes + self.bytes.slices.held(index)
        expected = 0
        for call in self.calls.values():
            if call.stage == index:
                held += call.in_bytes
            elif call.stage == index - 1:
                expected += call.expected_out_bytes
        return held, expected

    def byte_share(self, index: int) -> int:
        """The byte share of stage `index`'s input queue now (see `ByteBudget.shares`).

        Queue 0 holds the pickled input; queue i, stage i-1's outputs.
        """
        flows = [self.bytes.input_meter.bytes_per_task]
        flows += [s.meter.bytes_per_task for s in self.stages[:-1]]
        return self.bytes.budget.shares(flows)[index]

    @property
    def elapsed_s(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started
