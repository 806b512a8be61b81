"""Stage specs with every default resolved once, before the run starts.

`resolve_stages` turns the user's `CuratorStageSpec`s into `ResolvedStage`s for a given
cluster (CPU fallback, conda interpreter, unique names) and builds the `WorkerConfig` each
worker receives. Plain records, no Ray: the planning side reads them without a cluster.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import attrs

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageSpec
from cosmos_curate.core.runtime.errors import GpuRequiredError
from cosmos_curate.core.utils import settings
from cosmos_curate.core.utils.device import DEVICE_ENV_VAR

logger = logging.getLogger(__name__)


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
    """Variables set in the worker process before the stage is loaded (the driver's
    `CURATE_*`/hub settings, `CURATE_DEVICE=cpu` on CPU fallback)."""


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
    calls_in_flight_per_worker: int
    fixed_per_node: int | None
    fixed_total: int | None
    runtime_env: dict[str, Any] | None
    worker_config: WorkerConfig

    @property
    def autoscaled(self) -> bool:
        """Whether the planner chooses this stage's worker count."""
        return self.fixed_per_node is None and self.fixed_total is None

    @property
    def cpu_fallback(self) -> bool:
        """Whether this GPU stage runs on CPU because the cluster has no GPU."""
        return self.declared_gpus > 0 and self.gpus == 0


def env_python(env_name: str) -> Path:
    """Path of a conda env's interpreter: `<envs root>/<name>/bin/python`."""
    if not env_name or not all(c.isascii() and (c.isalnum() or c in "-_") for c in env_name):
        msg = f"invalid conda env name {env_name!r}: use letters, digits, '-' and '_' only"
        raise CurateError(msg)
    return settings.envs_root() / env_name / "bin" / "python"


def _runtime_env_for(stage: CuratorStage[Any, Any], warned: set[str]) -> dict[str, Any]:
    # Only the interpreter: environment variables travel in `WorkerConfig.environment`,
    # because any `env_vars` in a runtime_env sends every worker start through Ray's
    # runtime-env agent, which doubles the start-up time of a worker process.
    return _interpreter_for(stage, warned)


def _interpreter_for(stage: CuratorStage[Any, Any], warned: set[str]) -> dict[str, Any]:
    env_name = stage.conda_env_name
    if not env_name:
        return {}
    python = env_python(env_name)
    if python.exists():
        # Compare environments, not binaries: a venv's python is a symlink to its base.
        if python.parent.parent.resolve() == Path(sys.prefix).resolve():
            return {}
        return {"py_executable": str(python)}
    if env_name not in warned:
        warned.add(env_name)
        logger.warning(
            "conda env %r not found at %s; stage %s runs in the current interpreter "
            "(set CURATE_ENVS_DIR, or run inside an image built with "
            "`curate image build --envs %s`)",
            env_name,
            python,
            stage.name,
            env_name,
        )
    return {}


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
    declared = stage.resources.gpus
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


def resolve_stages(
    specs: list[CuratorStageSpec],
    *,
    cluster_gpus: float,
    require_gpu: bool,
    run_dir: Path,
    weights_on_node: WeightsPolicy | None = None,
) -> list[ResolvedStage]:
    """Resolve specs for a cluster with `cluster_gpus` GPUs (CPU fallback when it has none)."""
    warned_envs: set[str] = set()
    resolved = []
    names = unique_stage_names([spec.stage.name for spec in specs])
    for index, spec in enumerate(specs):
        stage = spec.stage
        res = stage.resources
        runtime_env = _runtime_env_for(stage, warned_envs)
        environment = settings.forwarded_env()
        gpus = _gpus_on_cluster(stage, cluster_gpus, require_gpu)
        if gpus != res.gpus:
            environment[DEVICE_ENV_VAR] = "cpu"
        batch_size = spec.stage_batch_size or stage.stage_batch_size
        if not isinstance(batch_size, int) or batch_size < 1:
            msg = f"stage {stage.name}: stage_batch_size must be a positive int, got {batch_size!r}"
            raise CurateError(msg)
        marker = str(run_dir / "node_setup" / f"{index}-{names[index]}")
        resolved.append(
            ResolvedStage(
                index=index,
                name=names[index],
                stage=stage,
                cpus=res.cpus,
                gpus=gpus,
                declared_gpus=res.gpus,
                batch_size=batch_size,
                run_attempts=spec.num_run_attempts_python,
                setup_attempts=spec.num_setup_attempts_python,
                calls_in_flight_per_worker=spec.max_calls_in_flight_per_worker,
                fixed_per_node=spec.num_workers_per_node,
                fixed_total=spec.num_workers,
                runtime_env=runtime_env or None,
                worker_config=WorkerConfig(
                    stage_name=names[index],
                    batch_size=batch_size,
                    run_attempts=spec.num_run_attempts_python,
                    setup_on_node_marker=marker,
                    weights=weights_on_node,
                    environment=tuple(sorted(environment.items())),
                ),
            )
        )
    return resolved
