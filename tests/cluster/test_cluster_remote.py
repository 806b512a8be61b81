"""Pipelines run on an existing multi-node cluster: by GCS address and through Ray Client."""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pytest
from tests.cluster.cluster_helpers import (
    load_result,
    metric_lines,
    records,
    run_driver,
    start_driver,
    wait_for,
)

from cosmos_curate.cluster.state import ClusterState

pytestmark = pytest.mark.integration

PER_NODE_TASKS = 240


@pytest.fixture(scope="module")
def per_node_run(
    three_nodes: ClusterState,
    token_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """One run with num_workers_per_node=2 on 3 nodes; scrapes every node's metrics meanwhile."""
    out = tmp_path_factory.mktemp("per_node")
    proc = start_driver(
        three_nodes.address, out, token_env, tasks=PER_NODE_TASKS, per_node=2, sleep_s=0.2
    )
    seen: dict[str, list[str]] = {}

    def scrape() -> bool:
        for node in three_nodes.nodes:
            lines = metric_lines(node.ip, node.metrics_port, "ray_curate_cluster_test_tasks")
            if lines:
                seen[node.ip] = lines
        return proc.poll() is not None

    wait_for(scrape, timeout=600, interval=2.0)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr[-4000:]
    return {"result": load_result(out), "out": out, "metrics": seen}


def test_gcs_address_run_delivers_every_task_once(per_node_run: dict[str, Any]) -> None:
    """A run on a `host:port` address returns every input exactly once, with no failure."""
    result = per_node_run["result"]
    ids = [item_id for item_id, _ in result["outputs"]]
    assert sorted(ids) == list(range(PER_NODE_TASKS))
    assert result["num_failures"] == 0


def test_two_workers_per_node_on_every_node(
    per_node_run: dict[str, Any], three_nodes: ClusterState
) -> None:
    """num_workers_per_node=2 starts exactly 2 workers of each stage on each of the 3 nodes."""
    setups = records(per_node_run["out"], "setup")
    per_stage_node = collections.Counter((stage, node) for stage, node, _, _ in setups)
    nodes = {node for _, node, _, _ in setups}
    assert len(nodes) == len(three_nodes.nodes)
    assert set(per_stage_node.values()) == {2}, per_stage_node
    assert len(per_stage_node) == 2 * len(three_nodes.nodes)
    worked = {trail[0][1] for _, trail in per_node_run["result"]["outputs"]}
    assert worked == nodes


def test_setup_on_node_runs_once_per_node_per_stage(
    per_node_run: dict[str, Any], three_nodes: ClusterState
) -> None:
    """stage_setup_on_node ran exactly once for each (stage, node), though 2 workers share it."""
    node_setups = collections.Counter(
        (stage, node) for stage, node, _, _ in records(per_node_run["out"], "node")
    )
    assert len(node_setups) == 2 * len(three_nodes.nodes)
    assert set(node_setups.values()) == {1}


def test_metrics_come_from_every_node(
    per_node_run: dict[str, Any], three_nodes: ClusterState
) -> None:
    """Each node's metrics port exports the stages' counter, labelled with that node's address,
    and Ray's own ray_ metrics."""
    seen: dict[str, list[str]] = per_node_run["metrics"]
    assert set(seen) == {n.ip for n in three_nodes.nodes}
    for ip, lines in seen.items():
        assert any(f'NodeAddress="{ip}"' in line for line in lines), lines
    for node in three_nodes.nodes:
        assert metric_lines(node.ip, node.metrics_port, "ray_"), node.ip


def test_ray_client_run_ships_the_code(
    three_nodes: ClusterState, token_env: dict[str, str], tmp_path: Path
) -> None:
    """A ray:// run with CURATE_SHIP_CODE=upload works, and workers import the uploaded
    cosmos_curate package (py_modules) and run in the uploaded working dir."""
    assert three_nodes.client_address is not None
    env = {**token_env, "CURATE_SHIP_CODE": "upload"}
    result = run_driver(three_nodes.client_address, tmp_path, env, tasks=50)
    assert sorted(i for i, _ in result["outputs"]) == list(range(50))
    setups = records(tmp_path, "setup")
    assert setups
    for _, _, _, info in setups:
        assert "runtime_resources" in info["cosmos_curate"], info
        assert "runtime_resources" in info["cwd"], info
