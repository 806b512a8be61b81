"""Stage specs with every default resolved once, before the run starts.

`resolve_stages` turns the user's `CuratorStageSpec`s (every field None = "the run's
default") into `ResolvedStage`s for a given cluster (CPU fallback, conda interpreter,
unique names, failure policy, worker recycling) and builds the `WorkerConfig` each worker
receives. Settings the runtime accepts but has no use for are warned about once per run.
Plain records, no Ray: the planning side reads them without a cluster.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import attrs

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageSpec
from cosmos_curate.core.runtime.errors import GpuRequiredError
from cosmos_curate.core.runtime.profiling import ProfileRequest
from cosmos_curate.core.runtime.stage_env import env_python, runtime_env_for, worker_environment
from cosmos_curate.core.utils.device import DEVICE_ENV_VAR

logger = logging.getLogger(__name__)

__all__ = [
    "ResolvedStage",
    "WeightsPolicy",
    "WorkerConfig",
    "cpu_scale",
    "embedded_cpus",
    "env_python",
    "minimum_cpus",
    "resolve_stages",
]

DEFAULT_SLOTS_PER_ACTOR = 2
DEFAULT_RESTART_INTERVAL_M = 1.0


@attrs.frozen
class WeightsPolicy:
    """How a node gets a stage's weights before its workers set up."""

    download_missing: bool = False
    s3_prefix: str | None = None


@attrs.frozen
class WorkerConfig:
    """Per-stage settings a worker needs; built once by the driver."""

    stage_name: str
    batch_size: int
    run_attempts: int
    setup_on_node_marker: str | None = None
    weights: WeightsPolicy | None = None
    environment: tuple[tuple[str, str], ...] = ()
    """Variables set in the worker process before the stage is loaded: the driver's
    `CURATE_*`/hub settings, `CONDA_DEFAULT_ENV` for a stage with a conda env, the stage's
    `env_info.extra_env_vars`, and `CURATE_DEVICE=cpu` on CPU fallback."""
    profile: ProfileRequest | None = None
    """What the worker profiles and where it writes (`--profile`; None: nothing)."""
    working_dir: str | None = None
    """The driver's working folder: a worker on a node that has it works there, so that a
    relative path in a stage means on the worker what it meant to the user."""


@attrs.frozen
class ResolvedStage:
    """Everything the engine needs about one stage, with no Optional left to patch."""

    index: int
    name: str
    stage: CuratorStage[Any, Any]
    cpus: float
    gpus: float
    declared_gpus: float
    batch_size: int
    run_attempts: int
    setup_attempts: int
    slots_per_actor: int
    fixed_per_node: int | None
    fixed_total: int | None
    runtime_env: dict[str, Any] | None
    worker_config: WorkerConfig
    ignore_failures: bool = False
    reset_workers_on_failure: bool = False
    worker_max_lifetime_s: float = 0.0
    """Workers older than this are recycled (0: never)."""
    worker_restart_interval_s: float = DEFAULT_RESTART_INTERVAL_M * 60
    """At most one lifetime recycling per stage per interval."""
    max_setup_failure_percentage: float | None = None
    call_timeout_s: float | None = None
    """A `process` call running longer is a worker failure (None: no limit; see `watchdog`)."""

    @property
    def autoscaled(self) -> bool:
        """Whether the planner chooses this stage's worker count."""
        return self.fixed_per_node is None and self.fixed_total is None

    @property
    def cpu_fallback(self) -> bool:
        """Whether this GPU stage runs on CPU because the cluster has no GPU."""
        return self.declared_gpus > 0 and self.gpus == 0


def unique_stage_names(names: list[str]) -> list[str]:
    """Stage names made unique (`Stage`, `Stage_2`, ...) for metrics and failure records."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return unique


def _gpus_on_cluster(
    stage: CuratorStage[Any, Any], cluster_gpus: float, require_gpu: bool
) -> float:
    """GPUs per worker on this cluster: as declared, or 0 (CPU fallback) when it has none."""
    declared = float(stage.resources.gpus)
    if declared <= 0 or cluster_gpus > 0:
        return declared
    if require_gpu:
        msg = (
            f"stage {stage.name} needs {declared:g} GPU per worker but the cluster has "
            "no GPU; run on a GPU cluster or drop --require-gpu to fall back to CPU"
        )
        raise GpuRequiredError(msg)
    logger.warning(
        "!!! NO GPU IN THE CLUSTER: stage %s asks for %g GPU per worker and will run "
        "ON CPU, much slower. Pass --require-gpu to make this an error. !!!",
        stage.name,
        declared,
    )
    return 0.0


def _per_node(spec: CuratorStageSpec) -> int | None:
    """`num_workers_per_node` as a whole count: a fraction is rounded up (see the warning)."""
    if spec.num_workers_per_node is None:
        return None
    return max(1, math.ceil(spec.num_workers_per_node))


def warn_unused_settings(specs: list[CuratorStageSpec], names: list[str]) -> None:
    """One warning per kind of setting the runtime accepts but does not act on."""
    unused: dict[str, list[str]] = {}
    for spec, name in zip(specs, names, strict=True):
        res = spec.stage.resources
        if res.nvdecs or res.nvencs:
            unused.setdefault("nvdecs/nvencs", []).append(name)
        if spec.over_provision_factor is not None:
            unused.setdefault("over_provision_factor", []).append(name)
        per_node = spec.num_workers_per_node
        if per_node is not None and not float(per_node).is_integer():
            unused.setdefault("fractional num_workers_per_node", []).append(name)
    why = {
        "nvdecs/nvencs": "codec units are not scheduled here; Ray schedules CPUs and GPUs only",
        "over_provision_factor": "the autoscaler sizes stages from measured speeds and "
        "busy time, so it needs no factor",
        "fractional num_workers_per_node": "rounded up to a whole worker on every node",
    }
    for setting, stages in unused.items():
        logger.warning(
            "%s set on stage(s) %s: accepted and ignored (%s); see docs/MIGRATING.md",
            setting,
            ", ".join(stages),
            why[setting],
        )


def _scaled_cpus(cpus: float, scale: float) -> float:
    """`cpus * scale` as Ray accepts it: whole above 1, at most 4 decimals below (rounded down)."""
    if scale >= 1.0:
        return cpus
    scaled = cpus * scale
    return float(math.floor(scaled)) if scaled > 1 else math.floor(scaled * 10_000) / 10_000


def _resolve_one(
    index: int, name: str, spec: CuratorStageSpec, run: _RunDefaults, warned: set[str]
) -> ResolvedStage:
    spec.validate()
    stage = spec.stage
    environment = worker_environment(stage)
    gpus = _gpus_on_cluster(stage, run.cluster_gpus, run.require_gpu)
    if gpus != stage.resources.gpus:
        environment[DEVICE_ENV_VAR] = "cpu"
    batch_size = spec.stage_batch_size or stage.stage_batch_size
    if not isinstance(batch_size, int) or batch_size < 1:
        msg = f"stage {stage.name}: stage_batch_size must be a positive int, got {batch_size!r}"
        raise CurateError(msg)
    run_attempts = spec.num_run_attempts_python or 1
    restart_m = spec.worker_restart_interval_m
    return ResolvedStage(
        index=index,
        name=name,
        stage=stage,
        cpus=_scaled_cpus(float(stage.resources.cpus), run.cpu_scale),
        gpus=gpus,
        declared_gpus=float(stage.resources.gpus),
        batch_size=batch_size,
        run_attempts=run_attempts,
        setup_attempts=spec.num_setup_attempts_python or 1,
        slots_per_actor=spec.slots_per_actor or DEFAULT_SLOTS_PER_ACTOR,
        fixed_per_node=_per_node(spec),
        fixed_total=spec.num_workers,
        runtime_env=runtime_env_for(stage, warned) or None,
        worker_config=WorkerConfig(
            stage_name=name,
            batch_size=batch_size,
            run_attempts=run_attempts,
            setup_on_node_marker=str(run.run_dir / "node_setup" / f"{index}-{name}"),
            weights=run.weights_on_node,
            environment=tuple(sorted(environment.items())),
            working_dir=os.getcwd(),
        ),
        ignore_failures=run.ignore_failures
        if spec.ignore_failures is None
        else spec.ignore_failures,
        reset_workers_on_failure=bool(spec.reset_workers_on_failure),
        worker_max_lifetime_s=60.0 * (spec.worker_max_lifetime_m or 0.0),
        worker_restart_interval_s=60.0
        * (DEFAULT_RESTART_INTERVAL_M if restart_m is None else restart_m),
        max_setup_failure_percentage=spec.max_setup_failure_percentage,
        call_timeout_s=spec.call_timeout_s,
    )


@attrs.frozen
class _RunDefaults:
    cluster_gpus: float
    require_gpu: bool
    run_dir: Path
    weights_on_node: WeightsPolicy | None
    ignore_failures: bool
    cpu_scale: float = 1.0


def resolve_stages(
    specs: list[CuratorStageSpec],
    *,
    cluster_gpus: float,
    require_gpu: bool,
    run_dir: Path,
    weights_on_node: WeightsPolicy | None = None,
    ignore_failures: bool = False,
    cluster_cpus: float | None = None,
) -> list[ResolvedStage]:
    """Resolve specs for a cluster with `cluster_gpus` GPUs (CPU fallback when it has none).

    `ignore_failures` is the run's default for specs that leave theirs None. With
    `cluster_cpus`, CPU requests too large for one worker per stage are scaled down to fit
    (`cpu_scale`, logged); None leaves them as declared.
    """
    scale = 1.0 if cluster_cpus is None else cpu_scale(specs, cluster_cpus)
    if scale < 1.0:  # info: an embedded cluster on a small machine oversubscribes silently too
        logger.info(
            "one worker per stage needs %g CPUs, the cluster has %g: every stage's CPU "
            "request is scaled by %.2f so that all stages run at once (oversubscribed)",
            minimum_cpus(specs),
            cluster_cpus,
            scale,
        )
    run = _RunDefaults(cluster_gpus, require_gpu, run_dir, weights_on_node, ignore_failures, scale)
    names = unique_stage_names([spec.stage.name for spec in specs])
    warn_unused_settings(specs, names)
    warned_envs: set[str] = set()
    return [
        _resolve_one(index, names[index], spec, run, warned_envs)
        for index, spec in enumerate(specs)
    ]


def minimum_cpus(specs: list[CuratorStageSpec]) -> float:
    """CPUs the stages ask for with one worker each (their fixed counts where they have one)."""
    minimum = 0.0
    for spec in specs:
        workers = spec.num_workers_per_node or spec.num_workers or 1
        minimum += workers * spec.stage.resources.cpus
    return minimum


def embedded_cpus(specs: list[CuratorStageSpec]) -> float:
    """Logical CPUs for an embedded cluster: this machine's, or enough for one worker per stage.

    A laptop with fewer cores than the pipeline's minimum still runs it (oversubscribed)
    instead of waiting forever for resources that will never appear.
    """
    return float(max(os.cpu_count() or 1, math.ceil(minimum_cpus(specs))))


def cpu_scale(specs: list[CuratorStageSpec], cluster_cpus: float) -> float:
    """The factor on every stage's CPU request so that one worker per stage fits the cluster.

    1.0 when they fit. Otherwise the stages could not all run at once: the last ones' workers
    would wait for CPUs held by the first ones' idle workers, whose output has nowhere to go,
    and the run would stall. Scaled down, every stage runs (oversubscribed, as an embedded
    cluster on a small machine is), sharing the CPUs the cluster has. A stage whose one
    worker alone asks for more than the cluster has is left as declared: the planner's
    `ClusterTooSmallError` names it.
    """
    minimum = minimum_cpus(specs)
    if cluster_cpus <= 0 or minimum <= cluster_cpus + 1e-9:
        return 1.0
    if any(spec.stage.resources.cpus > cluster_cpus for spec in specs):
        return 1.0
    return cluster_cpus / minimum
