"""The public stage API: validation a pipeline author meets before anything runs."""

from __future__ import annotations

import pickle
from typing import Any

import attrs
import pytest

from cosmos_curate.core.interfaces.errors import InvalidResourceError, StageDefinitionError
from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    CuratorStageSpec,
    NodeInfo,
    PipelineTask,
    WorkerMetadata,
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


def test_resource_is_mutable_and_checked_on_assignment() -> None:
    """Upstream code assigns fields; an impossible value is refused at the assignment."""
    res = CuratorStageResource(cpus=1.0, gpus=2)
    assert isinstance(res.gpus, int)
    res.gpus = 0.5
    assert res.gpus == 0.5
    with pytest.raises(InvalidResourceError, match="cpus"):
        res.cpus = -1
    assert res.cpus == 1.0


@pytest.mark.parametrize("gpus", [0, 0.5])
def test_entire_gpu_needs_whole_gpus_and_names_both_fields(gpus: float) -> None:
    """entire_gpu=True with no or a fraction of a GPU is one error naming both fields."""
    with pytest.raises(InvalidResourceError, match=r"entire_gpu=True.*gpus="):
        CuratorStageResource(gpus=gpus, entire_gpu=True)
    res = CuratorStageResource(gpus=1, entire_gpu=True, nvdecs=2, nvencs=1)
    with pytest.raises(InvalidResourceError, match="entire_gpu"):
        res.gpus = 0.25


def test_spec_fields_keep_upstreams_positional_order() -> None:
    """stage, num_workers, num_workers_per_node, setup attempts, run attempts, ..."""
    fields = attrs.fields(CuratorStageSpec)
    assert [f.name for f in fields[:12]] == [
        "stage", "num_workers", "num_workers_per_node", "num_setup_attempts_python",
        "num_run_attempts_python", "ignore_failures", "reset_workers_on_failure",
        "slots_per_actor", "worker_max_lifetime_m", "worker_restart_interval_m",
        "max_setup_failure_percentage", "over_provision_factor",
    ]  # fmt: skip
    assert all(f.kw_only for f in fields[12:])  # ours (stage_batch_size, ...): keywords only
    assert CuratorStageSpec(_Echo(), 3).num_workers == 3
    with pytest.raises(TypeError):
        CuratorStageSpec(_Echo(), *([None] * 11), 4)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("num_workers_per_node", 0),
        ("slots_per_actor", 0),
        ("ignore_failures", "yes"),
        ("worker_max_lifetime_m", -1),
        ("max_setup_failure_percentage", 150),
        ("over_provision_factor", 0),
    ],
)
def test_spec_values_are_checked_at_construction_and_assignment(field: str, value: Any) -> None:
    """A bad value names its field, whether passed in or assigned later."""
    with pytest.raises(StageDefinitionError, match=field):
        CuratorStageSpec(_Echo(), **{field: value})
    spec = CuratorStageSpec(_Echo())
    with pytest.raises(StageDefinitionError, match=field):
        setattr(spec, field, value)


def test_spec_names_and_display_like_upstream() -> None:
    """name() is the stage's name, or `Stage NN - name`; display_str() shows its shape."""
    spec = CuratorStageSpec(_Echo(), num_workers_per_node=0.5)
    assert spec.name() == "_Echo"
    assert spec.name(3) == "Stage 03 - _Echo"
    assert spec.display_str() == "_Echo num_workers_per_node=0.5 cpus=1.0 gpus=0"
    spec.validate()


class _Named(_Echo):
    def __init__(self) -> None:
        self.name = "Reader"


def test_stage_name_set_in_a_users_init_without_super() -> None:
    """`self.name = ...` in an __init__ that never calls super() renames the stage."""
    assert _Named().name == "Reader"
    assert pickle.loads(pickle.dumps(_Named())).name == "Reader"
    assert _Echo().name == "_Echo"


def test_setup_hooks_default_to_the_stage_setup_methods() -> None:
    """setup(metadata) runs stage_setup(); setup_on_node(node, metadata) the node hook."""
    stage = _ModelStage()
    stage.setup(WorkerMetadata(worker_id="w", stage_name="s"))
    assert stage._model.loaded
    calls: list[str] = []

    class OnNode(_Echo):
        def stage_setup_on_node(self) -> None:
            calls.append("node")

    OnNode().setup_on_node(NodeInfo("n1"), WorkerMetadata(worker_id="w", stage_name="s"))
    assert calls == ["node"]


def test_task_helpers_of_upstream_v1_4() -> None:
    """weight and fraction are 1.0; get_major_size() is 0 by default."""
    task = _Task(1)
    assert (task.weight, task.fraction, task.get_major_size()) == (1.0, 1.0, 0)
