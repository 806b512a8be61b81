"""A run's plan, made without starting Ray: `curate pipeline run NAME --dry-run`.

From a pipeline's `PipelineSketch` and the run's options: the cluster it would run on (a
connected cluster's shape read from its head, else the embedded cluster's `num_cpus` /
`num_gpus` or this machine's), each stage's resources and the workers the runtime's planner
would give it there (per node), its model's weights and its conda env, the inputs found and
where outputs go. Every problem that would stop the run is listed, not only the first.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.interfaces.stage_interface import CuratorStageSpec, as_stage_spec
from cosmos_curate.core.runtime.planner import (
    NodeCapacity,
    PlanningSnapshot,
    ProportionalPlanner,
    StageDemand,
    placement,
)
from cosmos_curate.core.runtime.run_options import RunOptions
from cosmos_curate.core.runtime.stage_env import env_python, stage_env_name
from cosmos_curate.core.runtime.stage_spec import ResolvedStage, embedded_cpus, resolve_stages
from cosmos_curate.core.utils import settings
from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name
from cosmos_curate.core.weights.download import ensure_weights
from cosmos_curate.pipelines.sketch import InputSummary, PipelineSketch


@attrs.frozen
class ClusterShape:
    """The nodes a run would get, and which cluster they are."""

    kind: str
    """`connected` (a running cluster at `address`) or `embedded` (started by the run)."""
    address: str | None
    nodes: tuple[NodeCapacity, ...]

    @property
    def cpus(self) -> float:
        """CPUs of every node together."""
        return sum(n.cpus for n in self.nodes)

    @property
    def gpus(self) -> float:
        """GPUs of every node together."""
        return sum(n.gpus for n in self.nodes)


@attrs.frozen
class WeightsCheck:
    """One model id a stage needs: its folder and whether its weights are there."""

    model_id: str
    folder: str
    present: bool
    problem: str | None
    """Why not, with the command that fetches them (None when present)."""


@attrs.frozen
class StagePlan:
    """One stage as it would run."""

    run: int
    """Which runtime pipeline run of the pipeline holds the stage (0 for most pipelines)."""
    name: str
    cpus: float
    gpus: float
    declared_gpus: float
    autoscaled: bool
    workers: int
    workers_per_node: tuple[int, ...]
    model: str | None
    weights: tuple[WeightsCheck, ...]
    conda_env: str | None
    conda_env_present: bool | None


@attrs.frozen
class DryRunPlan:
    """Everything `--dry-run` shows; `problems` empty means the run would start."""

    pipeline: str
    cluster: ClusterShape
    stages: tuple[StagePlan, ...]
    inputs: InputSummary | None
    outputs: str | None
    runs_folder: str
    problems: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def would_run(self) -> bool:
        """Whether nothing stops the run."""
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """Plain data (`--json`)."""
        data = attrs.asdict(self)
        data["would_run"] = self.would_run
        data["cluster"]["cpus"] = self.cluster.cpus
        data["cluster"]["gpus"] = self.cluster.gpus
        return data


def plan_run(name: str, sketch: PipelineSketch, run: RunOptions) -> DryRunPlan:
    """The plan of running `sketch` with `run`'s options; reads, starts and creates nothing."""
    problems = list(sketch.problems)
    notes = list(sketch.notes)
    specs = [[as_stage_spec(s) for s in stages] for stages in sketch.runs]
    cluster = cluster_shape(run, [s for group in specs for s in group], problems)
    stages: list[StagePlan] = []
    for index, group in enumerate(specs):
        stages += _plan_group(index, group, cluster, run, problems=problems, notes=notes)
    return DryRunPlan(
        pipeline=name,
        cluster=cluster,
        stages=tuple(stages),
        inputs=sketch.inputs,
        outputs=sketch.outputs,
        runs_folder=str(settings.runs_root()),
        problems=tuple(dict.fromkeys(problems)),
        notes=tuple(dict.fromkeys(notes)),
    )


def cluster_shape(
    run: RunOptions, specs: list[CuratorStageSpec], problems: list[str]
) -> ClusterShape:
    """The connected cluster's nodes when an address is given and answers, else embedded.

    An address that does not answer is a problem; the plan then shows the embedded shape.
    """
    address = run.ray_address or os.environ.get("RAY_ADDRESS") or None
    if address:
        from cosmos_curate.cluster.status import cluster_status

        try:
            status = cluster_status(address)
        except CurateError as exc:
            problems.append(f"--ray-address {address}: {exc}")
        else:
            nodes = tuple(NodeCapacity(n.node_id, n.cpus, n.gpus) for n in status.alive_nodes)
            return ClusterShape("connected", address, nodes)
    # A bad number is already a problem (the CLI's checks); plan with this machine's then.
    cpus = _usable(run.num_cpus)
    gpus = _usable(run.num_gpus)
    cpus = embedded_cpus(specs) if cpus is None else cpus
    gpus = _detected_gpus() if gpus is None else gpus
    return ClusterShape("embedded", None, (NodeCapacity("local", float(cpus), float(gpus)),))


def _usable(count: float | None) -> float | None:
    """`count` when it is a finite number >= 0, else None."""
    return count if count is not None and 0 <= count < float("inf") else None


def _detected_gpus() -> float:
    """GPUs Ray would give an embedded cluster on this machine (0 when it finds none).

    A machine with no NVIDIA device node and no CUDA_VISIBLE_DEVICES has none: answered
    without importing Ray (about 2 s of the dry run's start-up).
    """
    if not _may_have_gpus():
        return 0.0
    try:
        from ray._private.accelerators import get_accelerator_manager_for_resource

        manager = get_accelerator_manager_for_resource("GPU")
        return float(manager.get_current_node_num_accelerators()) if manager else 0.0
    except Exception:  # no driver, no library: Ray would count none either
        return 0.0


def _may_have_gpus() -> bool:
    """Whether this machine shows any sign of an NVIDIA GPU (device nodes or the CUDA variable)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", "").strip():
        return True
    return any(Path("/dev").glob("nvidia[0-9]*"))


@contextmanager
def _quiet_resolution() -> Iterator[None]:
    """Hold back the runtime's start-of-run warnings (CPU fallback, missing env).

    The plan shows them as notes instead.
    """
    names = ("cosmos_curate.core.runtime.stage_spec", "cosmos_curate.core.runtime.stage_env")
    loggers = [logging.getLogger(n) for n in names]
    before = [lg.disabled for lg in loggers]
    for lg in loggers:
        lg.disabled = True
    try:
        yield
    finally:
        for lg, was in zip(loggers, before, strict=True):
            lg.disabled = was


def _plan_group(
    index: int,
    specs: list[CuratorStageSpec],
    cluster: ClusterShape,
    run: RunOptions,
    *,
    problems: list[str],
    notes: list[str],
) -> list[StagePlan]:
    """The stages of one runtime pipeline run, with their planned workers."""
    try:
        with _quiet_resolution():
            resolved = resolve_stages(
                specs,
                cluster_gpus=cluster.gpus,
                require_gpu=run.require_gpu,
                run_dir=Path(settings.runs_root()),
                ignore_failures=run.ignore_failures,
            )
    except CurateError as exc:
        problems.append(str(exc))
        if not run.require_gpu:
            return []
        run = attrs.evolve(run, require_gpu=False)
        return _plan_group(index, specs, cluster, run, problems=problems, notes=notes)
    workers, per_node = _workers(resolved, cluster, problems)
    plans = []
    for stage, count, nodes in zip(resolved, workers, per_node, strict=True):
        if stage.cpu_fallback:
            notes.append(f"stage {stage.name} runs on CPU: the cluster has no GPU")
        plans.append(
            _stage_plan(stage, run, index=index, workers=(count, nodes), findings=(problems, notes))
        )
    return plans


def _workers(
    resolved: list[ResolvedStage], cluster: ClusterShape, problems: list[str]
) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """The planner's first plan for these stages on this cluster (all stages costed alike)."""
    snapshot = PlanningSnapshot(
        nodes=cluster.nodes,
        stages=tuple(
            StageDemand(
                s.name, s.cpus, s.gpus, fixed_per_node=s.fixed_per_node, fixed_total=s.fixed_total
            )
            for s in resolved
        ),
    )
    try:
        targets = ProportionalPlanner().plan(snapshot).targets
    except CurateError as exc:
        problems.append(str(exc))
        targets = tuple(0 for _ in resolved)
    return targets, placement(targets, snapshot)


def _stage_plan(
    stage: ResolvedStage,
    run: RunOptions,
    *,
    index: int,
    workers: tuple[int, tuple[int, ...]],
    findings: tuple[list[str], list[str]],
) -> StagePlan:
    """One stage's row; its weights and env problems and notes go to `findings`."""
    problems, notes = findings
    model = stage.stage.model
    model_ids = tuple(model.model_id_names) if model is not None else ()
    weights = tuple(_weights(m) for m in model_ids) if run.check_weights else ()
    for check in weights:
        if check.problem is None:
            continue
        if run.download_missing:
            notes.append(f"weights for {check.model_id} would be downloaded (--download-missing)")
        else:
            problems.append(f"stage {stage.name}: {check.problem}")
    env = stage_env_name(stage.stage)
    env_present = None
    if env:
        try:
            env_present = env_python(env).exists()
        except CurateError as exc:
            problems.append(f"stage {stage.name}: {exc}")
        if env_present is False:
            notes.append(
                f"conda env {env} is not here ({settings.envs_root()}): stage {stage.name} "
                "would run in this interpreter"
            )
    return StagePlan(
        run=index,
        name=stage.name,
        cpus=stage.cpus,
        gpus=stage.gpus,
        declared_gpus=stage.declared_gpus,
        autoscaled=stage.autoscaled,
        workers=workers[0],
        workers_per_node=workers[1],
        model=type(model).__name__ if model is not None else None,
        weights=weights,
        conda_env=env,
        conda_env_present=env_present,
    )


def _weights(model_id: str) -> WeightsCheck:
    folder = str(get_local_dir_for_weights_name(model_id))
    try:
        ensure_weights([model_id], download_missing=False)
    except CurateError as exc:
        return WeightsCheck(model_id, folder, present=False, problem=str(exc))
    return WeightsCheck(model_id, folder, present=True, problem=None)


__all__ = ["ClusterShape", "DryRunPlan", "StagePlan", "WeightsCheck", "cluster_shape", "plan_run"]
