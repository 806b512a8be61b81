"""A real Prometheus scraping a running pipeline: the guide's PromQL, `metrics tail`, the port.

One pipeline (ReadStage -> GpuStage with half of the declared GPU -> WriteStage) runs for the
whole module; every test reads it while it runs.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from typing import Any

import pytest
from tests.observability.conftest import Prometheus, RunningPipeline
from tests.observability.guide_queries import GUIDE_QUERIES, GuideQuery
from tests.observability.pipeline_stages import STAGE_NAMES
from tests.support import curate_in_process

pytestmark = pytest.mark.integration

WAIT_S = 75.0
GPU_CELL = re.compile(r"GpuStage.*/0:(0\.5|1)\b")


def _stages(result: list[dict[str, Any]]) -> set[str]:
    return {series["metric"].get("stage", "") for series in result}


def _summary(result: list[dict[str, Any]]) -> str:
    parts = []
    for series in sorted(result, key=lambda s: sorted(s["metric"].items())):
        labels = ",".join(f"{k}={v}" for k, v in sorted(series["metric"].items()))
        parts.append(f"{{{labels}}} {float(series['value'][1]):.4g}")
    return "; ".join(parts) or "(empty)"


def _poll_queries(
    pipeline: RunningPipeline, prometheus: Prometheus, queries: list[GuideQuery]
) -> dict[str, list[dict[str, Any]]]:
    """Run the queries until each has a series for every stage, or the wait is over."""
    deadline = time.monotonic() + WAIT_S
    results: dict[str, list[dict[str, Any]]] = {}
    while True:
        pipeline.check()
        results = {q.expr: prometheus.query(q.expr) for q in queries}
        if all(set(STAGE_NAMES) <= _stages(r) for r in results.values()):
            return results
        if time.monotonic() > deadline:
            return results
        time.sleep(1.0)


def test_every_guide_query_without_gpu_returns_every_stage(
    running_pipeline: RunningPipeline, prometheus: Prometheus
) -> None:
    """Each non-GPU query of the guide returns one series per stage of the running pipeline."""
    queries = [q for q in GUIDE_QUERIES if not q.needs_gpu]
    results = _poll_queries(running_pipeline, prometheus, queries)
    report = "\n".join(f"{q.title}: {_summary(results[q.expr])}" for q in queries)
    print("\n" + report)  # the query results, for the issue's closing note (pytest -s)
    for query in queries:
        stages = _stages(results[query.expr])
        assert set(STAGE_NAMES) <= stages, f"{query.title}: got stages {stages}\n{report}"
    busy_idle = results[queries[1].expr]
    assert {s["metric"]["state"] for s in busy_idle} >= {"running", "idle"}
    assert not {s["metric"]["state"] for s in busy_idle} & {"target", "pending"}
    object_size = {s["metric"]["stage"]: float(s["value"][1]) for s in results[queries[4].expr]}
    # GpuStage receives ReadStage's 4 KiB payloads: several KiB per call, pickled.
    assert object_size["GpuStage"] > 4096


def test_gpu_queries_are_valid_and_gpu_alloc_has_the_join_labels(
    running_pipeline: RunningPipeline, prometheus: Prometheus
) -> None:
    """The GPU queries parse and run; the GPU share carries the labels they join on."""
    deadline = time.monotonic() + WAIT_S
    alloc: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        running_pipeline.check()
        alloc = prometheus.query("ray_pipeline_stage_gpu_alloc")
        if alloc:
            break
        time.sleep(1.0)
    assert alloc, "ray_pipeline_stage_gpu_alloc has no series (fake GPU declared)"
    for series in alloc:
        labels = series["metric"]
        assert {"stage", "GpuIndex", "NodeAddress", "SessionName"} <= set(labels), labels
        assert labels["stage"] == "GpuStage"
        assert labels["GpuIndex"] == "0"
        assert float(series["value"][1]) == pytest.approx(0.5)
    # NodeAddress must equal the `ip` label of Ray's node metrics, which the guide's
    # label_replace turns into NodeAddress for the join.
    node_ips = {s["metric"].get("ip") for s in prometheus.query("ray_node_cpu_utilization")}
    if node_ips:
        assert {s["metric"]["NodeAddress"] for s in alloc} <= node_ips
    has_gpu = bool(prometheus.query("ray_node_gpus_utilization"))
    for query in (q for q in GUIDE_QUERIES if q.needs_gpu):
        result = prometheus.query(query.expr)  # raises on a syntax error (HTTP 400)
        print(f"\n{query.title}: {_summary(result)}")
        if has_gpu:
            assert "GpuStage" in _stages(result), query.title


def test_progress_and_driver_loop_metrics_are_exported(
    running_pipeline: RunningPipeline, prometheus: Prometheus
) -> None:
    """Progress, finished/failed counts and the driver loop's numbers reach Prometheus."""
    expected_per_stage = [
        "ray_pipeline_progress",
        "ray_pipeline_tasks_finished",
        "ray_pipeline_tasks_failed",
        "ray_pipeline_stage_target_changes_total",
        'ray_pipeline_actor_count{state="target"}',
    ]
    deadline = time.monotonic() + WAIT_S
    while True:
        running_pipeline.check()
        results = {q: prometheus.query(f"sum by (stage) ({q})") for q in expected_per_stage}
        loop = {
            q: prometheus.query(q)
            for q in (
                "ray_pipeline_scheduler_round_time",
                "ray_pipeline_scheduler_rounds_total",
                "ray_pipeline_plan_rounds_total",
            )
        }
        ready = all(set(STAGE_NAMES) <= _stages(r) for r in results.values())
        if (ready and all(loop.values())) or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    for query, result in results.items():
        assert set(STAGE_NAMES) <= _stages(result), f"{query}: {_summary(result)}"
    for query, result in loop.items():
        assert result, f"{query} has no series"
    finished = {s["metric"]["stage"]: float(s["value"][1]) for s in results[expected_per_stage[1]]}
    assert finished["WriteStage"] > 0
    progress = [float(s["value"][1]) for s in results[expected_per_stage[0]]]
    assert all(0.0 <= p <= 1.0 for p in progress)


def test_tail_once_shows_every_stage(running_pipeline: RunningPipeline) -> None:
    """`curate metrics tail --once` prints a row per stage, the GPU share and the overall bar.

    In process through the CLI's entry point (it only reads the port; tests/observability/
    test_metrics_tail.py runs `metrics tail` as a process), polled until the rows show."""
    deadline = time.monotonic() + WAIT_S
    output = ""
    while time.monotonic() < deadline:
        running_pipeline.check()
        url = running_pipeline.metrics_url
        proc = curate_in_process("metrics", "tail", "--once", "--url", url)
        output = proc.stdout
        shown = all(n in output for n in STAGE_NAMES) and GPU_CELL.search(output)
        if proc.returncode == 0 and shown:
            break
        time.sleep(1.0)
    print("\n" + output)
    assert proc.returncode == 0, proc.stderr
    for name in STAGE_NAMES:
        assert name in output
    assert "overall" in output
    assert GPU_CELL.search(output)  # GpuStage's share of GPU 0 (0.5 per worker)
    assert "Traceback" not in proc.stderr


def test_metrics_port_serves_guide_names(running_pipeline: RunningPipeline) -> None:
    """The export port itself carries the exact metric names of the guide."""
    names = {
        "ray_pipeline_actor_process_time",
        "ray_pipeline_actor_count",
        "ray_pipeline_input_queue_size",
        "ray_pipeline_output_queue_size",
        "ray_pipeline_stage_deserialize_size_total",
        "ray_pipeline_stage_deserialize_count_total",
        "ray_pipeline_stage_deserialize_time_total",
        "ray_pipeline_stage_process_time_total",
        "ray_pipeline_stage_gpu_alloc",
        "ray_pipeline_actor_resource_usage",
        "ray_pipeline_progress",
    }
    deadline = time.monotonic() + WAIT_S
    missing = names
    while missing and time.monotonic() < deadline:
        running_pipeline.check()
        with urllib.request.urlopen(running_pipeline.metrics_url, timeout=10) as response:
            text = response.read().decode()
        missing = {n for n in names if f"\n{n}{{" not in text}
        time.sleep(0.5)
    assert not missing


def test_dashboard_panels_are_the_queries_this_module_runs() -> None:
    """Every dashboard panel's query is a guide query (all of which the tests above run)."""
    from tests.observability.test_dashboard import dashboard_exprs

    ran = {" ".join(q.expr.split()) for q in GUIDE_QUERIES}
    assert set(dashboard_exprs()) <= ran
    assert json.dumps(sorted(ran)) == json.dumps(sorted(set(dashboard_exprs())))
