"""Stages written the way upstream Cosmos-Curate's users write them (imported by Ray workers).

Every import below is an upstream import path. The env check at the top of the module is
upstream's pattern: the import runs only in a worker of a stage whose conda env is
`compat_env`, where the runtime sets `CONDA_DEFAULT_ENV` before the stage is unpickled.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import attrs

from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)
from cosmos_curate.core.utils.conda_utils import get_conda_env_name
from cosmos_curate.core.utils.model.conda_utils import is_running_in_env

ENV_NAME = "compat_env"

if is_running_in_env(ENV_NAME):
    import colorsys as env_only_module  # stands in for `from transformers import ...`
else:
    env_only_module = None


@attrs.define
class Clip(PipelineTask):
    """An attrs task as upstream pipelines declare them, with the v1.4 helpers overridden."""

    clip_id: int
    payload: bytes = b""
    notes: dict[str, str] = attrs.field(factory=dict)

    def get_major_size(self) -> int:
        return len(self.payload)


class NamedByInit(CuratorStage):
    """Its own `__init__`, no `super().__init__()`, and `self.name = ...` as users write it."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.name = f"Label{label}"

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5, gpus=0)

    def process_data(self, tasks: list[Clip]) -> list[Clip] | None:  # type: ignore[override]
        for task in tasks:
            task.notes["label"] = self.label
        return tasks


class PassThrough(CuratorStage):
    """Overrides nothing but resources: upstream's default process_data passes tasks on."""

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.25)


class InCondaEnv(CuratorStage):
    """A stage in conda env `compat_env` (missing here: the current interpreter stands in)."""

    def __init__(self) -> None:
        pass

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.25)

    @property
    def conda_env_name(self) -> str | None:
        return ENV_NAME

    def process_data(self, tasks: list[Clip]) -> list[Clip] | None:  # type: ignore[override]
        for task in tasks:
            task.notes["env"] = get_conda_env_name()
            task.notes["imported"] = str(env_only_module is not None)
        return tasks


class _UpstreamRuntimeEnv:
    """The shape of upstream's `RuntimeEnv` (xenna): `conda` and `extra_env_vars`."""

    def __init__(self, extra_env_vars: dict[str, str]) -> None:
        self.conda = None
        self.extra_env_vars = extra_env_vars


class WithEnvInfo(CuratorStage):
    """Overrides `env_info` to hand its workers an extra variable."""

    def __init__(self, value: str) -> None:
        self.value = value

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.25)

    @property
    def env_info(self) -> _UpstreamRuntimeEnv:
        return _UpstreamRuntimeEnv({"COMPAT_FLAG": self.value})

    def process_data(self, tasks: list[Clip]) -> list[Clip] | None:  # type: ignore[override]
        for task in tasks:
            task.notes["flag"] = os.environ.get("COMPAT_FLAG", "")
        return tasks


class WholeGpu(CuratorStage):
    """Asks for one entire GPU (upstream v1.0's `entire_gpu`)."""

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.25, gpus=1, entire_gpu=True)

    def process_data(self, tasks: list[Clip]) -> list[Clip] | None:  # type: ignore[override]
        import ray

        for task in tasks:
            task.notes["gpus"] = ",".join(str(g) for g in ray.get_gpu_ids())
        return tasks


class UpstreamSetupHooks(CuratorStage):
    """Overrides upstream's `setup(worker_metadata)` and `setup_on_node(node, metadata)`."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.ready_by = ""

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.25)

    def setup_on_node(self, node_info: object, worker_metadata: object) -> None:
        with self.log.open("a") as f:
            f.write(f"node {getattr(node_info, 'node_id', '')}\n")

    def setup(self, worker_metadata: object) -> None:
        self.ready_by = str(getattr(worker_metadata, "worker_id", ""))

    def process_data(self, tasks: list[Clip]) -> list[Clip] | None:  # type: ignore[override]
        for task in tasks:
            task.notes["setup"] = self.ready_by
        return tasks


class FailOn(CuratorStage):
    """Raises on one clip id while `switch` exists; logs every clip it finishes.

    With `after_journal`, it raises only once that resume journal lists a finished clip, so
    a run stopped by the failure has journaled work however slowly the next stage started.
    """

    def __init__(
        self,
        bad_id: int,
        switch: Path,
        log: Path,
        delay: float = 0.0,
        after_journal: Path | None = None,
    ) -> None:
        self.bad_id, self.switch, self.log, self.delay = bad_id, switch, log, delay
        self.after_journal = after_journal

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Clip]) -> list[Clip] | None:  # type: ignore[override]
        for task in tasks:
            time.sleep(self.delay)
            if task.clip_id == self.bad_id and self.switch.exists():
                self._wait_for_the_journal()
                raise ValueError(f"corrupt clip {task.clip_id}")
            with self.log.open("a") as f:
                f.write(f"{task.clip_id}\n")
        return tasks

    def _wait_for_the_journal(self) -> None:
        deadline = time.monotonic() + 120
        while self.after_journal is not None and time.monotonic() < deadline:
            if self.after_journal.exists() and '"done"' in self.after_journal.read_text():
                return
            time.sleep(0.05)
