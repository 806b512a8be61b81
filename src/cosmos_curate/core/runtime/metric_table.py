"""The pipeline's Prometheus metrics, named once: what the driver records, how a scrape reads.

Ray-free, so `curate metrics tail` parses a scrape without importing Ray; `metrics.py` makes
the Ray instruments from the same table. Exported names get Ray's `ray_` prefix, and counters
Prometheus' `_total` suffix.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

import attrs
from prometheus_client.parser import text_string_to_metric_families

STAGE = "stage"
STATE = "state"
RESOURCE = "resource"
GPU_INDEX = "GpuIndex"
LOCALITY = "locality"
EXPORT_PREFIX = "ray_"
NAME_PREFIX = "pipeline_"


@attrs.frozen
class MetricDef:
    """One metric: Gauge or Counter, its name (without Ray's prefix), help text, tag keys."""

    kind: Literal["gauge", "counter"]
    name: str
    description: str
    tags: tuple[str, ...]

    @property
    def exported(self) -> str:
        """The sample name a scrape shows (`ray_...`, `_total` for a counter)."""
        return EXPORT_PREFIX + self.name + ("_total" if self.kind == "counter" else "")


def _gauge(name: str, description: str, tags: tuple[str, ...]) -> MetricDef:
    return MetricDef("gauge", name, description, tags)


def _counter(name: str, description: str, tags: tuple[str, ...]) -> MetricDef:
    return MetricDef("counter", name, description, tags)


_S = (STAGE,)
# field of _DriverInstruments: (kind, metric name, description, tag keys)
DRIVER_METRICS: dict[str, MetricDef] = {
    "process_time": _gauge(
        "pipeline_actor_process_time",
        "Measured seconds of process time per task per worker (smoothed).",
        _S,
    ),
    "actor_count": _gauge(
        "pipeline_actor_count",
        "Workers of a stage by state: target (planned), pending (starting), "
        "running (busy), idle, draining.",
        (STAGE, STATE),
    ),
    "input_queue": _gauge("pipeline_input_queue_size", "Tasks queued for the stage.", _S),
    "output_queue": _gauge(
        "pipeline_output_queue_size",
        "Tasks the stage produced that wait for the next stage.",
        _S,
    ),
    "tasks_in_flight": _gauge(
        "pipeline_tasks_in_flight", "Tasks handed to the stage's workers.", _S
    ),
    "throughput": _gauge(
        "pipeline_stage_throughput", "Tasks per second over the last seconds.", _S
    ),
    "progress": _gauge(
        "pipeline_progress",
        "Fraction (0-1) of the work known so far that the stage has done; "
        "the last stage's value is the run's overall progress.",
        _S,
    ),
    "stage_index": _gauge(
        "pipeline_stage_index", "Position of the stage in the pipeline (0 first).", _S
    ),
    "resource_usage": _gauge(
        "pipeline_actor_resource_usage",
        "Resources used by the stage's workers: cpu in percent of one core (summed), "
        "memory in RSS bytes (summed).",
        (STAGE, RESOURCE),
    ),
    "deserialize_size": _counter(
        "pipeline_stage_deserialize_size",
        "Bytes of task payload the stage's workers deserialized.",
        _S,
    ),
    "deserialize_count": _counter(
        "pipeline_stage_deserialize_count",
        "Calls whose inputs the stage's workers deserialized.",
        _S,
    ),
    "deserialize_time": _counter(
        "pipeline_stage_deserialize_time",
        "Seconds the stage's workers spent deserializing inputs.",
        _S,
    ),
    "process_time_total": _counter(
        "pipeline_stage_process_time",
        "Seconds the stage's workers spent in process_data.",
        _S,
    ),
    "finished": _gauge(
        "pipeline_tasks_finished",
        "Tasks the stage processed successfully in this run (a gauge, so that it is "
        "there from the start at 0).",
        _S,
    ),
    "failed": _gauge(
        "pipeline_tasks_failed",
        "Tasks that became failure records in the stage in this run.",
        _S,
    ),
    "target_changes": _counter(
        "pipeline_stage_target_changes",
        "Times the planner changed the stage's target worker count.",
        _S,
    ),
    "scheduler_round_time": _gauge(
        "pipeline_scheduler_round_time",
        "Mean seconds per round of the driver's scheduling loop.",
        (),
    ),
    "scheduler_rounds": _counter(
        "pipeline_scheduler_rounds", "Rounds of the driver's scheduling loop.", ()
    ),
    "plan_rounds": _counter(
        "pipeline_plan_rounds", "Times the planner re-planned worker counts.", ()
    ),
    "inputs_read": _gauge("pipeline_inputs_read", "Input tasks read so far by the run.", ()),
    "outputs": _gauge("pipeline_outputs", "Tasks the last stage produced in the run.", ()),
    "failures": _gauge("pipeline_failures", "Failure records written by the run.", ()),
    "elapsed": _gauge("pipeline_elapsed_seconds", "Seconds since the run started.", ()),
    "queued_bytes": _gauge("pipeline_queued_bytes", "Bytes queued for the stage.", _S),
    "in_flight_bytes": _gauge("pipeline_in_flight_bytes", "Input bytes of calls running.", _S),
    "backpressure_wait": _gauge(
        "pipeline_backpressure_wait_seconds",
        "Seconds the byte budget held the stage back during the run.",
        _S,
    ),
    "store_used": _gauge(
        "pipeline_object_store_used_bytes",
        "Bytes in Ray's object store over the cluster, as the driver last read it.",
        (),
    ),
    "store_capacity": _gauge(
        "pipeline_object_store_capacity_bytes",
        "Object store size of the cluster.",
        (),
    ),
    "byte_budget": _gauge(
        "pipeline_byte_budget_bytes",
        "The run's byte budget for queued and in-flight task data (0: unbounded).",
        (),
    ),
    "spilled": _gauge("pipeline_spilled_bytes", "Bytes Ray spilled to disk in the run.", ()),
    "node_bytes": _gauge(
        "pipeline_chunk_bytes",
        "Chunk bytes handed to workers, by locality: local (same node as their producer) "
        "or cross_node.",
        ("locality",),
    ),
    "input_exhausted": _gauge(
        "pipeline_input_exhausted", "1 once every input task has been read, else 0.", ()
    ),
}

GPU_ALLOC = _gauge(
    "pipeline_stage_gpu_alloc",
    "Share of a GPU held by the stage's workers (1.0: the whole GPU); recorded by the "
    "workers themselves, so NodeAddress is the GPU's node.",
    (STAGE, GPU_INDEX),
)
"""Recorded by each worker (not the driver), keyed by node and GPU index."""

_BY_EXPORTED = {d.exported: key for key, d in DRIVER_METRICS.items()} | {
    GPU_ALLOC.exported: "gpu_alloc"
}


@attrs.frozen
class Scrape:
    """The pipeline samples of one scrape, summed over series (drivers, workers, nodes).

    Keyed by the table's field (`finished`, `queued_bytes`, ...), the stage and one extra label
    value (the worker state, resource, locality, or `node/gpu` for GPU shares).
    """

    values: dict[tuple[str, str, str], list[float]]

    def total(self, field: str, stage: str = "", extra: str = "") -> float:
        """Sum of the field's samples for the stage (and extra label); 0 when absent."""
        return sum(self.values.get((field, stage, extra), ()))

    def by_extra(self, field: str, stage: str) -> dict[str, float]:
        """The field's sums for the stage, by extra label value."""
        return {e: sum(v) for (f, s, e), v in self.values.items() if f == field and s == stage}

    def samples(self, field: str, stage: str = "") -> list[float]:
        """Every sample of the field for the stage (e.g. to take a min or a mean)."""
        return list(self.values.get((field, stage, ""), ()))

    def stages(self) -> list[str]:
        """Stage names, in pipeline order (by their `stage_index` samples)."""

        def position(stage: str) -> tuple[float, str]:
            index = self.values.get(("stage_index", stage, ""))
            return (min(index) if index else float("inf"), stage)

        return sorted({stage for (_, stage, _) in self.values if stage}, key=position)


def parse_scrape(text: str) -> Scrape:
    """The pipeline samples of a Prometheus text exposition (`ValueError` when it is not one)."""
    values: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            field = _BY_EXPORTED.get(sample.name)
            if field is None:
                continue
            labels = sample.labels
            extra = labels.get(STATE) or labels.get(RESOURCE) or labels.get(LOCALITY) or ""
            if GPU_INDEX in labels:
                extra = f"{labels.get('NodeAddress', '?')}/{labels[GPU_INDEX]}"
            values[(field, labels.get(STAGE, ""), extra)].append(float(sample.value))
    return Scrape(dict(values))
