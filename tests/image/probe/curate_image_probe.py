"""A one-stage pipeline that reports which interpreter ran its stage (tests/image only).

The stage's model names conda env `probe`; the runtime must run its `stage_setup` and
`process_data` with `<envs root>/probe/bin/python`.
"""

from __future__ import annotations

import sys

import attrs

from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)

ENV_NAME = "probe"


@attrs.define
class ProbeTask(PipelineTask):
    """Filled by the stage with the interpreters that ran its setup and its processing."""

    index: int
    setup_executable: str = ""
    process_executable: str = ""


class ProbeModel(ModelInterface):
    """A model with no weights whose only job is to name the env."""

    def __init__(self, env_name: str = ENV_NAME) -> None:
        self._env_name = env_name

    @property
    def conda_env_name(self) -> str:
        return self._env_name

    @property
    def model_id_names(self) -> list[str]:
        return []

    def setup(self) -> None:
        pass


class ProbeStage(CuratorStage[ProbeTask, ProbeTask]):
    """Records `sys.executable` in `stage_setup` and in `process_data`."""

    def __init__(self, env_name: str = ENV_NAME) -> None:
        self._model = ProbeModel(env_name)
        self._setup_executable = ""

    @property
    def model(self) -> ModelInterface:
        return self._model

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def stage_setup(self) -> None:
        self._setup_executable = sys.executable

    def process_data(self, tasks: list[ProbeTask]) -> list[ProbeTask] | None:
        for task in tasks:
            task.setup_executable = self._setup_executable
            task.process_executable = sys.executable
        return tasks
