"""The pure worker planner: who gets how many workers on which cluster."""

from __future__ import annotations

import pytest

from cosmos_curate.core.runtime.errors import ClusterTooSmallError
from cosmos_curate.core.runtime.planner import (
    NodeCapacity,
    PlanningSnapshot,
    ProportionalPlanner,
    StageDemand,
    start_order,
)

ONE_NODE = (NodeCapacity("n1", cpus=2.0, gpus=0.0),)


def _plan(nodes: tuple[NodeCapacity, ...], *stages: StageDemand) -> tuple[int, ...]:
    return ProportionalPlanner().plan(PlanningSnapshot(nodes, stages)).targets


def test_unmeasured_stages_share_the_cluster_evenly() -> None:
    """Before any measurement every stage gets the same number of workers."""
    stages = [StageDemand(f"s{i}", cpus=0.1, gpus=0) for i in range(3)]
    targets = _plan(ONE_NODE, *stages)
    assert sum(targets) == 20
    assert max(targets) - min(targets) <= 1


def test_imbalanced_stages_get_workers_in_proportion_to_cost() -> None:
    """Costs 2/10/40 ms on 20 slots: the 40 ms stage gets the most, about 15."""
    stages = [
        StageDemand("fast", 0.1, 0, seconds_per_task=0.002),
        StageDemand("mid", 0.1, 0, seconds_per_task=0.010),
        StageDemand("slow", 0.1, 0, seconds_per_task=0.040),
    ]
    fast, mid, slow = _plan(ONE_NODE, *stages)
    assert fast + mid + slow == 20
    assert slow > mid > fast >= 1
    assert 14 <= slow <= 16


def test_fractional_gpus_pack_four_to_a_gpu() -> None:
    """0.25-GPU workers: four per GPU and no more, whatever the CPUs allow."""
    nodes = (NodeCapacity("n1", cpus=16, gpus=2),)
    (gpu_stage,) = _plan(nodes, StageDemand("embed", 1, 0.25))
    assert gpu_stage == 8


def test_fractions_do_not_straddle_two_gpus() -> None:
    """Two 0.6-GPU workers need two GPUs: a 0.4 + 0.4 leftover cannot hold a third."""
    nodes = (NodeCapacity("n1", cpus=16, gpus=2),)
    (n,) = _plan(nodes, StageDemand("big", 1, 0.6))
    assert n == 2


def test_fixed_per_node_stages_are_placed_on_every_node() -> None:
    """num_workers_per_node=2 on three nodes is six workers, placed before autoscaled ones."""
    nodes = tuple(NodeCapacity(f"n{i}", cpus=4, gpus=0) for i in range(3))
    io, work = _plan(nodes, StageDemand("io", 1, 0, fixed_per_node=2), StageDemand("work", 1, 0))
    assert io == 6
    assert work == 6  # what is left: 2 CPUs per node


def test_fixed_total_is_exact() -> None:
    """num_workers=3 gets exactly three, even when measured as the bottleneck."""
    targets = _plan(
        (NodeCapacity("n", 8, 0),),
        StageDemand("fixed", 1, 0, fixed_total=3, seconds_per_task=10.0),
        StageDemand("auto", 1, 0, seconds_per_task=0.001),
    )
    assert targets == (3, 5)


def test_finished_stages_release_their_workers_to_the_rest() -> None:
    """A stage whose input is done gets zero; its slots go to stages still working."""
    targets = _plan(
        ONE_NODE,
        StageDemand("done", 0.5, 0, seconds_per_task=0.01, finished=True, current_workers=2),
        StageDemand("busy", 0.5, 0, seconds_per_task=0.01, current_workers=2),
    )
    assert targets == (0, 4)


def test_gpu_stage_keeps_the_gpu_when_cpu_stages_are_many() -> None:
    """The GPU stage gets its worker even when CPU stages could fill every CPU."""
    nodes = (NodeCapacity("n", cpus=4, gpus=1),)
    cpu, gpu = _plan(
        nodes,
        StageDemand("decode", 1, 0, seconds_per_task=1.0),
        StageDemand("model", 1, 1, seconds_per_task=0.1),
    )
    assert gpu == 1
    assert cpu == 3


def test_a_worker_bigger_than_any_node_is_a_clear_error() -> None:
    """A stage needing 2 GPUs on a 1-GPU cluster cannot run: error names the stage."""
    with pytest.raises(ClusterTooSmallError, match="stage tp needs 4 CPUs and 2 GPUs"):
        _plan((NodeCapacity("n", 8, 1),), StageDemand("tp", 4, 2))


def test_hysteresis_keeps_a_nearly_balanced_allocation() -> None:
    """Noise (a 5% better plan) does not move workers; a 2x better plan does."""
    planner = ProportionalPlanner(hysteresis=0.10)
    near = PlanningSnapshot(
        ONE_NODE,
        (
            StageDemand("a", 0.5, 0, seconds_per_task=0.010, current_workers=2),
            StageDemand("b", 0.5, 0, seconds_per_task=0.0105, current_workers=2),
        ),
    )
    assert planner.plan(near).targets == (2, 2)
    skewed = PlanningSnapshot(
        ONE_NODE,
        (
            StageDemand("a", 0.5, 0, seconds_per_task=0.001, current_workers=2),
            StageDemand("b", 0.5, 0, seconds_per_task=0.030, current_workers=2),
        ),
    )
    assert planner.plan(skewed).targets == (1, 3)


def test_zero_cpu_stages_are_capped() -> None:
    """A stage needing no resources does not get unbounded workers."""
    planner = ProportionalPlanner(max_workers_per_stage_per_node=5)
    (n,) = planner.plan(PlanningSnapshot(ONE_NODE, (StageDemand("free", 0, 0),))).targets
    assert n == 5


def test_new_workers_start_bottleneck_first() -> None:
    """Ray starts processes a few at a time: the slowest stage's workers are created first."""
    stages = (
        StageDemand("fast", 0.1, 0, seconds_per_task=0.002),
        StageDemand("mid", 0.1, 0, seconds_per_task=0.010),
        StageDemand("slow", 0.1, 0, seconds_per_task=0.040),
    )
    order = start_order({1: 3, 2: 14}, [1, 1, 1], stages)
    assert sorted(order) == [1] * 3 + [2] * 14
    assert order[:3] == [2, 2, 2]  # 'slow' at 1 worker is 4x behind 'mid'
    # Interleaved by throughput, not one stage after the other.
    assert order.index(1) < len(order) - 3
