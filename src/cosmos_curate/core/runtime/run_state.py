"""Everything that changes while a run goes, in one record written by the engine alone.

The engine's phases (`intake`, `dispatch`, `collect`, `recovery`, `scaling`) write it;
`flow.PipelineFlow` and `progress` only read it. Per-stage lists are indexed by stage
position. No Ray import: the pools' type is named for the type checker only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs

from cosmos_curate.core.runtime.byte_budget import ByteAccount
from cosmos_curate.core.runtime.ledger import InputLedger
from cosmos_curate.core.runtime.planner import NodeCapacity
from cosmos_curate.core.runtime.queues import Chunk, ChunkQueue
from cosmos_curate.core.runtime.stage_spec import ResolvedStage
from cosmos_curate.core.runtime.stats import StageStats

if TYPE_CHECKING:
    from cosmos_curate.core.runtime.stage_pool import StagePool, WorkerHandle


@attrs.define(eq=False)
class InFlightCall:
    """A `process` call sent to a worker, keyed in `RunState.calls` by its report ref."""

    stage: int
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
    """The live state of one run: queues, pools, counters, targets and calls in flight."""

    stages: list[ResolvedStage]
    ledger: InputLedger
    queues: list[ChunkQueue]
    stats: list[StageStats]
    pools: list[StagePool] = attrs.field(factory=list)
    """One pool per stage, made when the run starts."""
    targets: list[int] = attrs.field(factory=list)
    """Worker count per stage the planner last chose."""
    target_changes: list[int] = attrs.field(factory=list)
    last_resize: list[float] = attrs.field(factory=list)
    first_dispatch: list[float] = attrs.field(factory=list)
    """When each stage got its first call (inf until then)."""
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
    """Byte budget, measured output sizes, budget waits, cross-node bytes, store use."""
    call_started: dict[Any, float] = attrs.field(factory=dict)
    """When the call at the head of its worker's line was first seen there (see `watchdog`)."""

    @classmethod
    def new(cls, stages: list[ResolvedStage], ledger: InputLedger) -> RunState:
        """A state with empty queues and counters for `stages`."""
        n = len(stages)
        return cls(
            stages=stages,
            ledger=ledger,
            queues=[ChunkQueue() for _ in stages],
            stats=[StageStats() for _ in stages],
            targets=[0] * n,
            target_changes=[0] * n,
            last_resize=[-math.inf] * n,
            first_dispatch=[math.inf] * n,
            bytes=ByteAccount.new(n),
        )

    def boundary_bytes(self, index: int) -> tuple[int, int]:
        """(held, expected) bytes at the queue of stage `index` (see `byte_budget`).

        Held: queued for the stage plus the inputs of its calls in flight; expected: the
        output of the upstream stage's calls in flight (nothing for stage 0).
        """
        held = self.queues[index].bytes
        expected = 0
        for call in self.calls.values():
            if call.stage == index:
                held += call.in_bytes
            elif call.stage == index - 1:
                expected += call.expected_out_bytes
        return held, expected

    @property
    def elapsed_s(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started
