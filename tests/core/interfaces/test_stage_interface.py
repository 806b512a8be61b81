"""The public stage API: validation a pipeline author meets before anything runs."""

from __future__ import annotations

import pickle

import attrs
import pytest

from cosmos_curate.core.interfaces.errors import InvalidResourceError, StageDefinitionError
from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    CuratorStageSpec,
    PipelineTask,
    as_stage_spec,
)


@attrs.define
class _Task(PipelineTask):
    value: int


class _Echo(CuratorStage[_Task, _Task]):
    def process_data(self, tasks: list[_Task]) -> list[_Task] | None:
        return tasks


class _NoProcess(CuratorStage[_Task, _Task]):
    pass


class _Model(ModelInterface):
    def __init__(self) -> None:
        self.loaded = False

    @property
    def conda_env_name(self) -> str:
        return "transformers"

    @property
    def model_id_names(self) -> list[str]:
        return ["org/model"]

    def setup(self) -> None:
        self.loaded = True


class _ModelStage(_Echo):
    def __init__(self) -> None:
        self._model = _Model()

    @property
    def model(self) -> ModelInterface | None:
        return self._model


@pytest.mark.parametrize(
    ("cpus", "gpus"),
    [(-1, 0), (1, -0.5), (1, 1.5), (1, 2.25), (float("nan"), 0), (1, float("inf"))],
)
def test_impossible_resources_are_rejected(cpus: float, gpus: float) -> None:
    """Negative CPUs/GPUs, NaN, and fractional GPUs above 1 raise InvalidResourceError."""
    with pytest.raises(InvalidResourceError):
        CuratorStageResource(cpus=cpus, gpus=gpus)


@pytest.mark.parametrize("gpus", [0, 0.25, 0.5, 0.999, 1, 2, 8])
def test_fractional_and_whole_gpus_are_accepted(gpus: float) -> None:
    """A fraction below 1 (packing) or a whole number (tensor parallel) is valid."""
    assert CuratorStageResource(cpus=0.5, gpus=gpus).gpus == gpus


def test_error_message_says_what_to_do() -> None:
    """The 1.5-GPU error explains the two allowed shapes."""
    with pytest.raises(InvalidResourceError, match=r"fraction below 1.*whole number"):
        CuratorStageResource(gpus=1.5)


def test_stage_without_process_data_passes_tasks_on() -> None:
    """Upstream's default process_data returns its input; wrapping such a stage is fine."""
    tasks = [_Task(1), _Task(2)]
    assert as_stage_spec(_NoProcess()).stage.process_data(tasks) == tasks


def test_spec_rejects_both_worker_counts() -> None:
    """num_workers and num_workers_per_node are mutually exclusive."""
    with pytest.raises(StageDefinitionError, match="not both"):
        CuratorStageSpec(_Echo(), num_workers=2, num_workers_per_node=1)


@pytest.mark.parametrize("field", ["num_workers", "num_workers_per_node", "stage_batch_size"])
def test_spec_rejects_non_positive_counts(field: str) -> None:
    """Zero workers or batch size zero is an error naming the field."""
    with pytest.raises(StageDefinitionError, match=field):
        CuratorStageSpec(_Echo(), **{field: 0})


def test_spec_defaults_follow_the_guide() -> None:
    """A bare stage is autoscaled; overrides default to None (the run's defaults)."""
    spec = as_stage_spec(_Echo())
    assert spec.autoscaled
    assert spec.num_run_attempts_python is None
    assert spec.stage.stage_batch_size == 1
    assert not CuratorStageSpec(_Echo(), num_workers_per_node=2).autoscaled


def test_default_stage_setup_loads_the_model_and_env_comes_from_it() -> None:
    """stage_setup() calls model.setup(); conda_env_name defaults to the model's env."""
    stage = _ModelStage()
    assert stage.conda_env_name == "transformers"
    stage.stage_setup()
    assert stage._model.loaded
    assert _Echo().conda_env_name is None


def test_specs_and_resources_survive_pickling() -> None:
    """Objects sent to Ray actors round-trip through pickle unchanged."""
    spec = CuratorStageSpec(_Echo(), num_workers=3, num_run_attempts_python=2)
    clone = pickle.loads(pickle.dumps(spec))
    assert clone.num_workers == 3
    assert clone.num_run_attempts_python == 2
    assert pickle.loads(pickle.dumps(CuratorStageResource(2, 0.25))) == CuratorStageResource(
        2, 0.25
    )
