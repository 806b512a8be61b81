"""The PromQL queries of the design guide's "Pipeline Performance" section, verbatim.

The integration test runs each against a real Prometheus; the Grafana dashboard's panels
must use exactly these.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class GuideQuery:
    """One query of the guide, with what the test expects of it."""

    title: str
    expr: str
    needs_gpu: bool = False


GUIDE_QUERIES: tuple[GuideQuery, ...] = (
    GuideQuery(
        "Measured stage speed (process time per task per actor)",
        "sum by (stage) (ray_pipeline_actor_process_time)",
    ),
    GuideQuery(
        "Busy vs. idle workers per stage",
        'sum by (stage, state) (ray_pipeline_actor_count{state!="target", state!="pending"})',
    ),
    GuideQuery("Input queue size per stage", "sum by (stage) (ray_pipeline_input_queue_size)"),
    GuideQuery("Output queue size per stage", "sum by (stage) (ray_pipeline_output_queue_size)"),
    GuideQuery(
        "Cross-stage object size",
        "(sum by (stage) (ray_pipeline_stage_deserialize_size_total))\n"
        "/ on (stage) group_left ()\n"
        "(sum by (stage) (ray_pipeline_stage_deserialize_count_total))",
    ),
    GuideQuery(
        "Communication time / process time",
        "(sum by (stage) (ray_pipeline_stage_deserialize_time_total))\n"
        "/ on (stage) group_left ()\n"
        "(sum by (stage) (ray_pipeline_stage_process_time_total))",
    ),
    GuideQuery(
        "GPU utilization averaged by stage",
        "avg by (stage) (\n"
        "    ray_pipeline_stage_gpu_alloc * on (SessionName, NodeAddress, GpuIndex) group_left\n"
        '    label_replace(ray_node_gpus_utilization, "NodeAddress","$1","ip", "(.+)")\n'
        ")",
        needs_gpu=True,
    ),
    GuideQuery(
        "GPU memory usage averaged by stage",
        "avg by (stage) (\n"
        "    ray_pipeline_stage_gpu_alloc * on (SessionName, NodeAddress, GpuIndex) group_left\n"
        '    label_replace(ray_node_gram_used, "NodeAddress","$1","ip", "(.+)")\n'
        ")",
        needs_gpu=True,
    ),
    GuideQuery(
        "CPU usage aggregated per stage",
        'sum by (stage) (ray_pipeline_actor_resource_usage{stage!="", resource="cpu"}) / 100',
    ),
    GuideQuery(
        "Average CPU usage per actor for each stage",
        '(sum by (stage) (ray_pipeline_actor_resource_usage{stage!="", resource="cpu"}))\n'
        "/ on (stage)\n"
        '(sum by (stage) (ray_pipeline_actor_count{state="running"})) / 100',
    ),
    GuideQuery(
        "System memory usage aggregated per stage",
        'sum by (stage) (ray_pipeline_actor_resource_usage{stage!="", resource="memory"})',
    ),
)


def normalize(expr: str) -> str:
    """The query with runs of whitespace collapsed, for comparing dashboard and guide."""
    return " ".join(expr.split())
