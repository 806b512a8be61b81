"""Pure worker-count planning: how many workers each stage gets on a cluster.

No Ray here. The engine builds a `PlanningSnapshot` each round and applies the returned
`WorkerPlan`. Rule: fixed stages first, then every unfinished autoscaled stage gets one
worker, then free capacity goes one worker at a time to the stage with the lowest
throughput (workers / seconds per task), so all stages move at the same rate and the
bottleneck gets the most. A worker is only counted where it fits on a node (first-fit
over each node's free CPUs and GPUs), so fractional GPUs pack and nothing is planned that
Ray could not place.
"""

from __future__ import annotations

import math
from typing import Protocol

import attrs

from cosmos_curate.core.runtime.errors import ClusterTooSmallError

EPS = 1e-9


@attrs.frozen
class NodeCapacity:
    """Schedulable CPUs and GPUs of one node."""

    node_id: str
    cpus: float
    gpus: float


@attrs.frozen
class StageDemand:
    """What the planner knows about one stage this round.

    `seconds_per_task` is the measured cost per task per worker (None until measured).
    `finished` means no more input will ever reach the stage and nothing is queued.
    """

    name: str
    cpus: float
    gpus: float
    fixed_per_node: int | None = None
    fixed_total: int | None = None
    seconds_per_task: float | None = None
    finished: bool = False
    current_workers: int = 0
    max_workers: int | None = None
    min_workers: int = 1
    """Workers the stage keeps this round (the engine holds a recently changed stage steady)."""

    @property
    def autoscaled(self) -> bool:
        """Whether the planner chooses the count."""
        return self.fixed_per_node is None and self.fixed_total is None


@attrs.frozen
class PlanningSnapshot:
    """Cluster capacity plus every stage's demand, in pipeline order."""

    nodes: tuple[NodeCapacity, ...]
    stages: tuple[StageDemand, ...]
    learning: bool = False
    """While True, unmeasured stages hold growth: every stage keeps its minimum until all
    are measured, so early guesses do not start workers that must be retired later."""


@attrs.frozen
class WorkerPlan:
    """Target worker count per stage, in pipeline order."""

    targets: tuple[int, ...]

    def bottleneck_rate(self, snapshot: PlanningSnapshot) -> float:
        """Throughput bound (tasks/s) of the slowest unfinished measured stage."""
        return _bottleneck_rate(self.targets, snapshot.stages)


class WorkerPlanner(Protocol):
    """Anything that turns a snapshot into a plan."""

    def plan(self, snapshot: PlanningSnapshot) -> WorkerPlan:
        """Return the worker targets for this round."""
        ...


class _Packing:
    """Free capacity per node (CPUs, and each GPU's free share) for first-fit placement."""

    def __init__(self, nodes: tuple[NodeCapacity, ...]) -> None:
        self.cpus = [n.cpus for n in nodes]
        self.gpus = [_gpu_shares(n.gpus) for n in nodes]

    def place(self, cpus: float, gpus: float, node: int | None = None) -> bool:
        """Reserve one worker on `node` (or the first node it fits on); False if none."""
        candidates = range(len(self.cpus)) if node is None else (node,)
        for i in candidates:
            if self.cpus[i] + EPS < cpus:
                continue
            chosen = _choose_gpus(self.gpus[i], gpus)
            if chosen is None:
                continue
            self.cpus[i] -= cpus
            for g, share in chosen:
                self.gpus[i][g] -= share
            return True
        return False


def _gpu_shares(gpus: float) -> list[float]:
    whole = int(gpus + EPS)
    shares = [1.0] * whole
    if gpus - whole > EPS:
        shares.append(gpus - whole)
    return shares


def _choose_gpus(free: list[float], want: float) -> list[tuple[int, float]] | None:
    """GPU indices and shares for one worker: a fraction fits on one GPU, best fit first."""
    if want <= 0:
        return []
    if want < 1:
        fitting = [g for g, share in enumerate(free) if share + EPS >= want]
        if not fitting:
            return None
        best = min(fitting, key=lambda g: free[g])  # fill partly used GPUs first
        return [(best, want)]
    empty = [g for g, share in enumerate(free) if share + EPS >= 1.0]
    if len(empty) < int(want):
        return None
    return [(g, 1.0) for g in empty[: int(want)]]


def _bottleneck_rate(targets: tuple[int, ...], stages: tuple[StageDemand, ...]) -> float:
    rates = [
        n / s.seconds_per_task
        for n, s in zip(targets, stages, strict=True)
        if not s.finished and s.autoscaled and s.seconds_per_task
    ]
    return min(rates) if rates else math.inf


def _fits_anywhere(stage: StageDemand, nodes: tuple[NodeCapacity, ...]) -> bool:
    return _Packing(nodes).place(stage.cpus, stage.gpus)


class ProportionalPlanner:
    """Gives workers in proportion to each stage's measured cost (see module docstring).

    `max_workers_per_stage_per_node` bounds stages that need almost no resources.
    `hysteresis` keeps the current counts unless the new plan raises the bottleneck's
    throughput by more than that fraction, so noise does not move workers back and forth.
    """

    def __init__(self, max_workers_per_stage_per_node: int = 32, hysteresis: float = 0.05) -> None:
        self.max_workers_per_stage_per_node = max_workers_per_stage_per_node
        self.hysteresis = hysteresis

    def plan(self, snapshot: PlanningSnapshot) -> WorkerPlan:
        """Return targets; raises `ClusterTooSmallError` if a stage can never run."""
        stages, nodes = snapshot.stages, snapshot.nodes
        for stage in stages:
            if not stage.finished and not _fits_anywhere(stage, nodes):
                msg = (
                    f"stage {stage.name} needs {stage.cpus:g} CPUs and {stage.gpus:g} GPUs per "
                    f"worker but no node of the cluster has that much; lower its resources "
                    f"or add a bigger node"
                )
                raise ClusterTooSmallError(msg)
        packing = _Packing(nodes)
        targets = [0] * len(stages)
        self._place_fixed(stages, nodes, packing, targets)
        self._place_minimum(stages, packing, targets)
        unmeasured = any(s.autoscaled and not s.finished and not s.seconds_per_task for s in stages)
        if not (snapshot.learning and unmeasured):
            self._grow(stages, nodes, packing, targets)
        plan = WorkerPlan(tuple(targets))
        return self._with_hysteresis(plan, snapshot)

    @staticmethod
    def _place_fixed(
        stages: tuple[StageDemand, ...],
        nodes: tuple[NodeCapacity, ...],
        packing: _Packing,
        targets: list[int],
    ) -> None:
        for i, stage in enumerate(stages):
            if stage.finished:
                continue
            if stage.fixed_per_node is not None:
                for node in range(len(nodes)):
                    for _ in range(stage.fixed_per_node):
                        packing.place(stage.cpus, stage.gpus, node)
                targets[i] = stage.fixed_per_node * len(nodes)
            elif stage.fixed_total is not None:
                for _ in range(stage.fixed_total):
                    packing.place(stage.cpus, stage.gpus)
                targets[i] = stage.fixed_total

    @staticmethod
    def _place_minimum(
        stages: tuple[StageDemand, ...], packing: _Packing, targets: list[int]
    ) -> None:
        # GPU stages first: they are the scarce resource and the usual bottleneck.
        order = sorted(range(len(stages)), key=lambda i: -stages[i].gpus)
        for i in order:
            stage = stages[i]
            if stage.autoscaled and not stage.finished:
                packing.place(stage.cpus, stage.gpus)
                targets[i] = 1
                for _ in range(stage.min_workers - 1):
                    if not packing.place(stage.cpus, stage.gpus):
                        break
                    targets[i] += 1

    def _cap(self, stage: StageDemand, n_nodes: int) -> int:
        cap = self.max_workers_per_stage_per_node * max(n_nodes, 1)
        return min(cap, stage.max_workers) if stage.max_workers is not None else cap

    def _grow(
        self,
        stages: tuple[StageDemand, ...],
        nodes: tuple[NodeCapacity, ...],
        packing: _Packing,
        targets: list[int],
    ) -> None:
        known = [s.seconds_per_task for s in stages if s.seconds_per_task]
        default_cost = max(known) if known else 1.0
        growable = {
            i
            for i, s in enumerate(stages)
            if s.autoscaled and not s.finished and targets[i] < self._cap(s, len(nodes))
        }
        while growable:
            # The stage with the lowest throughput gets the next worker.
            def rate(i: int) -> float:
                cost = stages[i].seconds_per_task or default_cost
                return targets[i] / cost

            best = min(growable, key=lambda i: (rate(i), -stages[i].gpus, i))
            stage = stages[best]
            if not packing.place(stage.cpus, stage.gpus):
                growable.discard(best)
                continue
            targets[best] += 1
            if targets[best] >= self._cap(stage, len(nodes)):
                growable.discard(best)

    def _with_hysteresis(self, plan: WorkerPlan, snapshot: PlanningSnapshot) -> WorkerPlan:
        current = tuple(s.current_workers for s in snapshot.stages)
        if current == plan.targets:
            return plan
        # Forced changes (finished stages, fixed counts, stages with no worker) always apply.
        for target, now, stage in zip(plan.targets, current, snapshot.stages, strict=True):
            forced = (stage.finished and now) or not stage.autoscaled or (target and not now)
            if forced and target != now:
                return plan
        if not all(s.seconds_per_task for s in snapshot.stages if s.autoscaled and not s.finished):
            return plan
        if not _current_fits(current, snapshot):
            return plan
        new_rate = plan.bottleneck_rate(snapshot)
        old_rate = _bottleneck_rate(current, snapshot.stages)
        if new_rate > old_rate * (1 + self.hysteresis):
            return plan
        return WorkerPlan(current)


def start_order(
    growth: dict[int, int], current: list[int], stages: tuple[StageDemand, ...]
) -> list[int]:
    """Stage indices in the order their new workers should be created.

    Ray starts worker processes a few at a time, so the order decides which stage is fed
    first: each next worker goes to the stage whose throughput (workers / seconds per task)
    is lowest so far, GPU stages first on ties; unmeasured stages count as the slowest.
    """
    known = [s.seconds_per_task for s in stages if s.seconds_per_task]
    default_cost = max(known) if known else 1.0
    counts = list(current)
    left = {i: n for i, n in growth.items() if n > 0}
    order: list[int] = []
    while left:

        def rate(i: int) -> float:
            return counts[i] / (stages[i].seconds_per_task or default_cost)

        best = min(left, key=lambda i: (rate(i), -stages[i].gpus, i))
        order.append(best)
        counts[best] += 1
        left[best] -= 1
        if not left[best]:
            del left[best]
    return order


def _current_fits(current: tuple[int, ...], snapshot: PlanningSnapshot) -> bool:
    packing = _Packing(snapshot.nodes)
    for n, stage in zip(current, snapshot.stages, strict=True):
        for _ in range(n):
            if not packing.place(stage.cpus, stage.gpus):
                return False
    return True


def placement(targets: tuple[int, ...], snapshot: PlanningSnapshot) -> tuple[tuple[int, ...], ...]:
    """Workers of each stage on each node for `targets` (stage order, then node order).

    Placed as the planner counts them: per-node stages on every node first, then the other
    stages first-fit, GPU stages before CPU ones. A worker that fits nowhere is left out.
    """
    nodes, stages = snapshot.nodes, snapshot.stages
    packing = _Packing(nodes)
    counts = [[0] * len(nodes) for _ in stages]
    order = sorted(
        range(len(stages)), key=lambda i: (stages[i].fixed_per_node is None, -stages[i].gpus)
    )
    for i in order:
        stage = stages[i]
        if stage.fixed_per_node is not None:
            for node in range(len(nodes)):
                for _ in range(stage.fixed_per_node):
                    counts[i][node] += packing.place(stage.cpus, stage.gpus, node)
            continue
        for _ in range(targets[i]):
            placed = next(
                (n for n in range(len(nodes)) if packing.place(stage.cpus, stage.gpus, n)), None
            )
            if placed is not None:
                counts[i][placed] += 1
    return tuple(tuple(row) for row in counts)
