"""Public API for pipeline authors: tasks, stages, resources and per-stage overrides.

A pipeline is a list of `CuratorStage` (or `CuratorStageSpec` wrapping one). Tasks are
`PipelineTask` subclasses that stages fill in field by field as they flow downstream.
This module does not import Ray.
"""

from __future__ import annotations

import math
from typing import Any, Generic, TypeVar

import attrs

from cosmos_curate.core.interfaces.errors import InvalidResourceError, StageDefinitionError
from cosmos_curate.core.interfaces.model_interface import ModelInterface


@attrs.define
class PipelineTask:
    """Base class of the objects that flow between stages.

    Subclass it with `@attrs.define` and add the fields your stages read and fill in.
    Nothing needs overriding.
    """


T = TypeVar("T", bound=PipelineTask)
U = TypeVar("U", bound=PipelineTask)


def _check_cpus(_: object, __: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value) or value < 0:
        msg = f"CuratorStageResource cpus must be a number >= 0, got {value!r}"
        raise InvalidResourceError(msg)


def _check_gpus(_: object, __: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value) or value < 0:
        msg = f"CuratorStageResource gpus must be a number >= 0, got {value!r}"
        raise InvalidResourceError(msg)
    if value > 1 and not float(value).is_integer():
        msg = (
            f"CuratorStageResource gpus={value!r} is not allowed: use a fraction below 1 "
            "(several workers share one GPU) or a whole number of GPUs"
        )
        raise InvalidResourceError(msg)


@attrs.frozen
class CuratorStageResource:
    """CPUs and GPUs one worker of a stage needs.

    `gpus` may be a fraction below 1 (0.25: four workers share one GPU) or a whole number
    of GPUs (2: tensor parallel over two GPUs). Anything else raises `InvalidResourceError`.
    """

    cpus: float = attrs.field(default=1.0, converter=float, validator=_check_cpus)
    gpus: float = attrs.field(default=0.0, converter=float, validator=_check_gpus)

    @property
    def uses_gpu(self) -> bool:
        """Whether a worker asks for any GPU."""
        return self.gpus > 0


class CuratorStage(Generic[T, U]):
    """One step of a pipeline; the runtime runs it as a pool of Ray actors.

    Override `process_data` and `resources`. A stage that runs a model also overrides
    `model` (and `stage_setup` when it needs more than `model.setup()`).
    The instance is pickled to every worker: keep heavy state out of `__init__` and load it
    in `stage_setup`, which runs in the model's conda env.
    """

    def process_data(self, tasks: list[T]) -> list[U] | None:
        """Process a batch of `stage_batch_size` tasks (fewer at the end of the input).

        Return the tasks to pass downstream: the same ones, fewer, more (dynamic chunking)
        or of another type. `None` or `[]` drops them.
        """
        msg = f"{type(self).__name__} must override process_data()"
        raise NotImplementedError(msg)

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs each worker of this stage needs (default: one CPU)."""
        return CuratorStageResource(cpus=1.0, gpus=0.0)

    @property
    def model(self) -> ModelInterface | None:
        """The model this stage runs, or None for a plain CPU stage."""
        return None

    @property
    def conda_env_name(self) -> str | None:
        """The conda env whose Python runs this stage's workers (default: the model's)."""
        return self.model.conda_env_name if self.model is not None else None

    @property
    def stage_batch_size(self) -> int:
        """How many tasks each `process_data` call receives at most."""
        return 1

    @property
    def name(self) -> str:
        """Name shown in progress, metrics and failure records (default: the class name)."""
        return type(self).__name__

    def stage_setup(self) -> None:
        """Run once in each worker, inside the model's conda env, before any task."""
        if self.model is not None:
            self.model.setup()

    def stage_setup_on_node(self) -> None:
        """Run once per node per stage before that node's workers set up (e.g. fetch weights)."""

    def destroy(self) -> None:
        """Release what `stage_setup` acquired; called when a worker is retired."""


def overrides_process_data(stage: CuratorStage[Any, Any]) -> bool:
    """Whether the stage's class defines its own `process_data`."""
    return type(stage).process_data is not CuratorStage.process_data


def _positive_or_none(name: str) -> Any:
    def check(_: object, __: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and (not isinstance(value, int) or value < 1):
            msg = f"CuratorStageSpec {name} must be a positive integer or None, got {value!r}"
            raise StageDefinitionError(msg)

    return check


def _positive(name: str) -> Any:
    def check(_: object, __: attrs.Attribute[int], value: int) -> None:
        if not isinstance(value, int) or value < 1:
            msg = f"CuratorStageSpec {name} must be a positive integer, got {value!r}"
            raise StageDefinitionError(msg)

    return check


def _check_stage(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, CuratorStage):
        msg = f"CuratorStageSpec expects a CuratorStage instance, got {type(value).__name__}"
        raise StageDefinitionError(msg)
    if not overrides_process_data(value):
        msg = (
            f"stage {type(value).__name__} does not override process_data(); "
            "define process_data(self, tasks) returning a list of tasks or None"
        )
        raise StageDefinitionError(msg)


@attrs.define
class CuratorStageSpec:
    """A stage plus per-run overrides of how the runtime runs it.

    - `num_workers_per_node`: exactly this many workers on every node (disables autoscaling).
    - `num_workers`: exactly this many workers in the cluster (disables autoscaling).
    - `num_run_attempts_python`: tries per `process_data` call before a failure record.
    - `num_setup_attempts_python`: failed `stage_setup` runs, counted per stage and in a row
      (any worker; a success resets the count), after which the run stops while no worker
      of the stage is ready.
    - `stage_batch_size`: override the stage's own `stage_batch_size`.
    - `max_calls_in_flight_per_worker`: calls queued on each worker so it never waits.
    """

    stage: CuratorStage[Any, Any] = attrs.field(validator=_check_stage)
    num_workers_per_node: int | None = attrs.field(
        default=None, validator=_positive_or_none("num_workers_per_node")
    )
    num_workers: int | None = attrs.field(default=None, validator=_positive_or_none("num_workers"))
    num_run_attempts_python: int = attrs.field(
        default=1, validator=_positive("num_run_attempts_python")
    )
    num_setup_attempts_python: int = attrs.field(
        default=1, validator=_positive("num_setup_attempts_python")
    )
    stage_batch_size: int | None = attrs.field(
        default=None, validator=_positive_or_none("stage_batch_size")
    )
    max_calls_in_flight_per_worker: int = attrs.field(
        default=2, validator=_positive("max_calls_in_flight_per_worker")
    )

    def __attrs_post_init__(self) -> None:
        if self.num_workers is not None and self.num_workers_per_node is not None:
            msg = f"stage {self.stage.name}: set num_workers or num_workers_per_node, not both"
            raise StageDefinitionError(msg)

    @property
    def autoscaled(self) -> bool:
        """Whether the runtime chooses this stage's worker count."""
        return self.num_workers is None and self.num_workers_per_node is None


def as_stage_spec(stage: CuratorStage[Any, Any] | CuratorStageSpec) -> CuratorStageSpec:
    """Wrap a bare stage in a default `CuratorStageSpec`; pass a spec through unchanged."""
    if isinstance(stage, CuratorStageSpec):
        return stage
    return CuratorStageSpec(stage)
