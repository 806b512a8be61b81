"""Phase 4 of a round, plan: worker counts from measured speeds, applied to the pools.

The pure planner (`planner.py`) picks a target per stage from a `PlanningSnapshot` built
here; this module records the targets in the run state and starts or retires workers:
shrinking first (frees resources), then growing bottleneck-first, and only where a new
worker pays for its start-up (`PipelineFlow.worth_growing`).
"""

from __future__ import annotations

import logging
import time

from cosmos_curate.core.runtime.flow import PipelineFlow
from cosmos_curate.core.runtime.planner import (
    PlanningSnapshot,
    StageDemand,
    WorkerPlanner,
    start_order,
)
from cosmos_curate.core.runtime.ray_connection import node_capacities
from cosmos_curate.core.runtime.run_state import PendingSetup, RunState
from cosmos_curate.core.runtime.stage_pool import WorkerState

logger = logging.getLogger(__name__)

NODES_REFRESH_S = 5.0
"""How often the cluster's node list is read again (nodes join and leave)."""


def plan(state: RunState, flow: PipelineFlow, planner: WorkerPlanner) -> None:
    """Re-plan every stage's worker count and start or retire workers toward it."""
    now = time.monotonic()
    if now - state.nodes_read_at > NODES_REFRESH_S:
        state.nodes = node_capacities()
        state.nodes_read_at = now
    snapshot = PlanningSnapshot(
        nodes=state.nodes,
        stages=tuple(_demand(state, flow, i, now) for i in range(len(state.stages))),
        learning=now - state.started < flow.options.learning_period_s,
    )
    targets = planner.plan(snapshot).targets
    state.plan_rounds += 1
    for stage, new in zip(state.stages, targets, strict=True):
        if stage.target != new:
            stage.target_changes += 1
            stage.last_resize = now
            logger.info("stage %s: workers %d -> %d", stage.spec.name, stage.target, new)
            stage.target = new
    node_ids = [n.node_id for n in state.nodes]
    _recycle_old_workers(state, now)
    growth: dict[int, int] = {}
    for index, stage in enumerate(state.stages):
        pool, per_node = stage.pool, stage.spec.fixed_per_node
        if flow.stage_finished(index):
            pool.retire_all_idle()
        elif per_node is not None:
            for worker, setup_ref in pool.scale_per_node(per_node, node_ids):
                state.setups[setup_ref] = PendingSetup(index, worker)
        elif stage.target > pool.active_count:
            # A count the stage declared (`num_workers`) is kept; autoscaled ones must pay.
            if stage.spec.fixed_total is not None or flow.worth_growing(index):
                growth[index] = stage.target - pool.active_count
        else:
            pool.scale_to(stage.target, flow.options.min_worker_age_s)  # retires only
    # Shrinking first frees resources; growing bottleneck-first gets it going soonest.
    current = [stage.pool.active_count for stage in state.stages]
    for index in start_order(growth, current, snapshot.stages):
        worker, setup_ref = state.stages[index].pool.start_worker()
        state.setups[setup_ref] = PendingSetup(index, worker)


def _recycle_old_workers(state: RunState, now: float) -> None:
    """`worker_max_lifetime_m`: retire one expired worker per stage and interval.

    It finishes its calls in flight; the growth below starts its replacement.
    """
    for stage in state.stages:
        if stage.pool.recycle_expired(now) is not None:
            logger.info("stage %s: recycling a worker past its lifetime", stage.spec.name)


def _demand(state: RunState, flow: PipelineFlow, index: int, now: float) -> StageDemand:
    stage = state.stages[index]
    spec, pool = stage.spec, stage.pool
    # A stage resized moments ago keeps its workers, and so does every stage while
    # workers start (and a while after): speeds measured then are skewed (start-ups
    # load the CPUs), and shrinking back would only pay for worker start-ups twice.
    cooldown = flow.options.resize_cooldown_s
    steady = (
        now - stage.last_resize < cooldown
        or now - state.last_worker_ready < cooldown
        or any(s.pool.count(WorkerState.STARTING) for s in state.stages)
    )
    return StageDemand(
        name=spec.name,
        cpus=spec.cpus,
        gpus=spec.gpus,
        fixed_per_node=spec.fixed_per_node,
        fixed_total=spec.fixed_total,
        seconds_per_task=stage.stats.seconds_per_task,
        finished=flow.stage_finished(index),
        current_workers=pool.active_count,
        min_workers=max(1, pool.active_count) if steady else 1,
    )
