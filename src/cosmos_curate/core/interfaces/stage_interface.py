"""Public API for pipeline authors: tasks, stages, resources and per-stage overrides.

A pipeline is a list of `CuratorStage` (or `CuratorStageSpec` wrapping one). Tasks are
`PipelineTask` subclasses that stages fill in field by field as they flow downstream.
Names, fields and defaults follow upstream Cosmos-Curate (v1.0-v1.4), so stages written
for it run unchanged (docs/MIGRATING.md). This module does not import Ray.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import attrs

from cosmos_curate.core.interfaces._spec_fields import (
    at_least,
    fraction_of_hundred,
    optional_bool,
    positive_int,
    positive_number,
)
from cosmos_curate.core.interfaces.errors import InvalidResourceError, StageDefinitionError
from cosmos_curate.core.interfaces.model_interface import ModelInterface


@attrs.define
class PipelineTask:
    """Base class of the objects that flow between stages.

    Subclass it with `@attrs.define` and add the fields your stages read and fill in.
    Nothing needs overriding. `weight`, `fraction` and `get_major_size()` exist for
    upstream pipelines that read them; the runtime sizes calls from measured times, not
    from them.
    """

    @property
    def weight(self) -> float:
        """Relative cost of the task (1.0); upstream's accounting hook."""
        return 1.0

    @property
    def fraction(self) -> float:
        """Share of an original input this task carries (1.0); upstream's accounting hook."""
        return 1.0

    def get_major_size(self) -> int:
        """Bytes of the task's main payload, for accounting; 0 unless a subclass knows it."""
        return 0


T = TypeVar("T", bound=PipelineTask)
U = TypeVar("U", bound=PipelineTask)


def _number(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"CuratorStageResource {field} must be a number >= 0, got {value!r}"
        raise InvalidResourceError(msg)
    return float(value)


def _check_count(field: str) -> Any:
    def check(_: object, __: attrs.Attribute[Any], value: object) -> None:
        if _number(field, value) < 0:
            msg = f"CuratorStageResource {field} must be a number >= 0, got {value!r}"
            raise InvalidResourceError(msg)

    return check


def _check_gpus(res: CuratorStageResource, _: attrs.Attribute[Any], value: object) -> None:
    _check_count("gpus")(res, _, value)
    gpus = _number("gpus", value)
    if gpus > 1 and not gpus.is_integer():
        msg = (
            f"CuratorStageResource gpus={value!r} is not allowed: use a fraction below 1 "
            "(several workers share one GPU) or a whole number of GPUs"
        )
        raise InvalidResourceError(msg)
    _check_entire_gpu(gpus, getattr(res, "entire_gpu", False))


def _check_entire(res: CuratorStageResource, _: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        msg = f"CuratorStageResource entire_gpu must be True or False, got {value!r}"
        raise InvalidResourceError(msg)
    _check_entire_gpu(float(getattr(res, "gpus", 0)), value)


def _check_entire_gpu(gpus: float, entire_gpu: bool) -> None:
    if entire_gpu and (gpus < 1 or not gpus.is_integer()):
        msg = (
            f"CuratorStageResource entire_gpu=True asks for whole GPUs, but gpus={gpus:g}: "
            "give gpus a whole number >= 1, or set entire_gpu=False to share a GPU"
        )
        raise InvalidResourceError(msg)


@attrs.define
class CuratorStageResource:
    """CPUs and GPUs one worker of a stage needs (mutable, checked on every assignment).

    `gpus` may be a fraction below 1 (0.25: four workers share one GPU) or a whole number
    of GPUs (2: tensor parallel over two GPUs); an int stays an int. `entire_gpu=True` asks
    for whole GPUs only (`gpus` must then be a whole number >= 1). `nvdecs`/`nvencs`
    (hardware video codec units) are accepted for upstream stages but not scheduled here:
    the run warns once. Impossible values raise `InvalidResourceError`.
    """

    cpus: float = attrs.field(default=1.0, validator=_check_count("cpus"))
    gpus: float | int = attrs.field(default=0, validator=_check_gpus)
    nvdecs: int = attrs.field(default=0, validator=_check_count("nvdecs"))
    nvencs: int = attrs.field(default=0, validator=_check_count("nvencs"))
    entire_gpu: bool = attrs.field(default=False, validator=_check_entire)

    @property
    def uses_gpu(self) -> bool:
        """Whether a worker asks for any GPU."""
        return self.gpus > 0


@attrs.frozen
class NodeInfo:
    """The node a worker runs on, handed to `CuratorStage.setup_on_node`."""

    node_id: str


@attrs.frozen
class WorkerMetadata:
    """Which worker is setting up, handed to `setup` and `setup_on_node`."""

    worker_id: str
    stage_name: str
    node_id: str = ""


@attrs.frozen
class StageEnvInfo:
    """What `CuratorStage.env_info` may return: the worker's conda env and extra env vars.

    Upstream-shaped objects work too: anything with `extra_env_vars` (a mapping) and,
    optionally, `conda.name`.
    """

    conda_env_name: str | None = None
    extra_env_vars: Mapping[str, str] = attrs.field(factory=dict)


class CuratorStage(Generic[T, U]):
    """One step of a pipeline; the runtime runs it as a pool of Ray actors.

    Override `process_data` and `resources`. A stage that runs a model also overrides
    `model` (and `stage_setup` when it needs more than `model.setup()`).
    The instance is pickled to every worker: keep heavy state out of `__init__` and load it
    in `stage_setup`, which runs in the model's conda env. A subclass's own `__init__` need
    not call `super().__init__()`; setting `self.name = "..."` renames the stage in progress,
    metrics and failure records.
    """

    def process_data(self, tasks: list[T]) -> list[U] | None:
        """Process a batch of `stage_batch_size` tasks (fewer at the end of the input).

        Return the tasks to pass downstream: the same ones, fewer, more (dynamic chunking)
        or of another type. `None` or `[]` drops them. The default passes them on.
        """
        return tasks  # type: ignore[return-value]

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs each worker of this stage needs (default: one CPU)."""
        return CuratorStageResource(cpus=1.0, gpus=0)

    @property
    def model(self) -> ModelInterface | None:
        """The model this stage runs, or None for a plain CPU stage."""
        return None

    @property
    def conda_env_name(self) -> str | None:
        """The conda env whose Python runs this stage's workers (default: the model's)."""
        return self.model.conda_env_name if self.model is not None else None

    @property
    def env_info(self) -> Any:
        """The worker's environment: None (use `conda_env_name`), or a `StageEnvInfo`.

        Override to give workers extra environment variables (`extra_env_vars`) or another
        conda env; upstream's `RuntimeEnv`-shaped objects are read the same way.
        """
        return None

    @property
    def stage_batch_size(self) -> int:
        """How many tasks each `process_data` call receives at most."""
        return 1

    @property
    def name(self) -> str:
        """Name shown in progress, metrics and failure records (default: the class name)."""
        given = self.__dict__.get("_curate_stage_name")
        return given if given else type(self).__name__

    @name.setter
    def name(self, value: str) -> None:
        self.__dict__["_curate_stage_name"] = str(value)

    def setup(self, worker_metadata: WorkerMetadata) -> None:
        """Called once in each worker (in its conda env); the default runs `stage_setup`."""
        self.stage_setup()

    def setup_on_node(self, node_info: NodeInfo, worker_metadata: WorkerMetadata) -> None:
        """Called once per node per stage, before that node's workers run `setup`.

        The default runs `stage_setup_on_node`.
        """
        self.stage_setup_on_node()

    def stage_setup(self) -> None:
        """Run once in each worker, inside the model's conda env, before any task."""
        if self.model is not None:
            self.model.setup()

    def stage_setup_on_node(self) -> None:
        """Run once per node per stage before that node's workers set up (e.g. fetch weights)."""

    def destroy(self) -> None:
        """Release what `stage_setup` acquired; called when a worker is retired."""


def _check_stage(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, CuratorStage):
        msg = f"CuratorStageSpec expects a CuratorStage instance, got {type(value).__name__}"
        raise StageDefinitionError(msg)


@attrs.define
class CuratorStageSpec:
    """A stage plus per-run overrides of how the runtime runs it (upstream's field order).

    Every field defaults to None, meaning "the run's default" (resolved once when the run
    starts, see docs/RUNTIME.md):
    - `num_workers` / `num_workers_per_node`: a fixed worker count in the cluster / on every
      node (either disables autoscaling; a fraction per node is rounded up, with a warning);
    - `num_setup_attempts_python` (1): failed `setup` runs in a row, stage-wide, after which
      the run stops while no worker of the stage is ready;
    - `num_run_attempts_python` (1): tries per `process_data` call before the task fails;
    - `ignore_failures` (False, or the run's `ignore_failures`): record a task that failed
      every attempt and go on, instead of stopping the run with `PipelineExecutionError`;
    - `reset_workers_on_failure` (False): replace a worker after a call whose task failed;
    - `slots_per_actor` (2): calls queued on each worker, so it never waits for the driver;
    - `worker_max_lifetime_m` (0: forever) and `worker_restart_interval_m` (1): recycle
      workers older than the lifetime, one per stage per interval, without losing a task;
    - `max_setup_failure_percentage`: tolerate failed setups (the worker is replaced) and
      stop only when more than this share of the stage's setups failed;
    - `over_provision_factor`: accepted, not used (warned once per run);
    - `stage_batch_size` (keyword): override the stage's own `stage_batch_size`;
    - `call_timeout_s` (keyword, None: no limit): a `process_data` call running longer is
      treated as a worker failure: the worker is killed and replaced, its tasks re-run
      alone and recorded as failures if they hang again.
    """

    stage: CuratorStage[Any, Any] = attrs.field(validator=_check_stage)
    num_workers: int | None = attrs.field(default=None, validator=positive_int)
    num_workers_per_node: float | None = attrs.field(default=None, validator=positive_number)
    num_setup_attempts_python: int | None = attrs.field(default=None, validator=positive_int)
    num_run_attempts_python: int | None = attrs.field(default=None, validator=positive_int)
    ignore_failures: bool | None = attrs.field(default=None, validator=optional_bool)
    reset_workers_on_failure: bool | None = attrs.field(default=None, validator=optional_bool)
    slots_per_actor: int | None = attrs.field(default=None, validator=positive_int)
    worker_max_lifetime_m: float | None = attrs.field(default=None, validator=at_least(0))
    worker_restart_interval_m: float | None = attrs.field(default=None, validator=at_least(0))
    max_setup_failure_percentage: float | None = attrs.field(
        default=None, validator=fraction_of_hundred
    )
    over_provision_factor: float | None = attrs.field(default=None, validator=positive_number)
    stage_batch_size: int | None = attrs.field(default=None, kw_only=True, validator=positive_int)
    call_timeout_s: float | None = attrs.field(
        default=None, kw_only=True, validator=positive_number
    )

    def __attrs_post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise `StageDefinitionError` when the spec cannot run (checked again at run start)."""
        if self.num_workers is not None and self.num_workers_per_node is not None:
            msg = f"stage {self.stage.name}: set num_workers or num_workers_per_node, not both"
            raise StageDefinitionError(msg)
        resources = self.stage.resources
        if not isinstance(resources, CuratorStageResource):
            msg = (
                f"stage {self.stage.name}: resources must be a CuratorStageResource, "
                f"got {type(resources).__name__}"
            )
            raise StageDefinitionError(msg)

    def name(self, index: int | None = None) -> str:
        """The stage's name, or `Stage 03 - Name` given its position."""
        return self.stage.name if index is None else f"Stage {index:02d} - {self.stage.name}"

    def display_str(self) -> str:
        """One line: name, workers per node, CPUs and GPUs per worker."""
        res = self.stage.resources
        return (
            f"{self.name()} num_workers_per_node={self.num_workers_per_node} "
            f"cpus={res.cpus} gpus={res.gpus}"
        )

    @property
    def autoscaled(self) -> bool:
        """Whether the runtime chooses this stage's worker count."""
        return self.num_workers is None and self.num_workers_per_node is None


def as_stage_spec(stage: CuratorStage[Any, Any] | CuratorStageSpec) -> CuratorStageSpec:
    """Wrap a bare stage in a default `CuratorStageSpec`; pass a spec through unchanged."""
    if isinstance(stage, CuratorStageSpec):
        return stage
    return CuratorStageSpec(stage)
