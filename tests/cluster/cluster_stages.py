"""Stages for the multi-node tests: each records where it ran (node id, pid) on shared disk.

All test nodes run on this machine, so a folder under the test's tmp dir is visible to
every worker; the driver scripts import this module and workers import it by name.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import attrs

from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)

METRIC_NAME = "curate_cluster_test_tasks"


@attrs.define
class Item(PipelineTask):
    """One input id plus the (stage, node id, pid) of every stage that touched it."""

    item_id: int
    trail: list[tuple[str, str, int]] = attrs.field(factory=list)


def _node_id() -> str:
    import ray

    return str(ray.get_runtime_context().get_node_id())


class RecordStage(CuratorStage[Item, Item]):
    """Sleeps `sleep_s` per task; records setups in `record_dir`; counts tasks in a Ray metric."""

    def __init__(
        self, label: str, record_dir: str, sleep_s: float = 0.0, cpus: float = 0.5
    ) -> None:
        self._label = label
        self._record_dir = record_dir
        self._sleep_s = sleep_s
        self._cpus = cpus
        self._counter: object | None = None

    @property
    def name(self) -> str:
        return self._label

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=self._cpus)

    def _record(self, kind: str) -> None:
        import cosmos_curate

        folder = Path(self._record_dir)
        folder.mkdir(parents=True, exist_ok=True)
        info = {"time": time.time(), "cosmos_curate": cosmos_curate.__file__, "cwd": os.getcwd()}
        path = folder / f"{kind}-{self._label}-{_node_id()}-{os.getpid()}.json"
        path.write_text(json.dumps(info))

    def stage_setup_on_node(self) -> None:
        self._record("node")

    def stage_setup(self) -> None:
        from ray.util.metrics import Counter

        self._record("setup")
        self._counter = Counter(METRIC_NAME, "tasks seen by a test stage", tag_keys=("stage",))

    def process_data(self, tasks: list[Item]) -> list[Item]:
        node, pid = _node_id(), os.getpid()
        for task in tasks:
            if self._sleep_s:
                time.sleep(self._sleep_s)
            task.trail.append((self._label, node, pid))
        if self._counter is not None:
            self._counter.inc(len(tasks), tags={"stage": self._label})  # type: ignore[attr-defined]
        return tasks
