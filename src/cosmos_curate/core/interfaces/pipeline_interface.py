"""`run_pipeline`: run a list of stages over input tasks on Ray.

The public entry point of the runtime. Its options are `RunOptions`' fields, passed as
keywords; upstream Cosmos-Curate's signature (`model_weights_prefix` third, `runner=`,
`args=`, `stage_save_config=`) works too. Importing this module does not load Ray: the
runtime is imported when a pipeline runs, so defining stages and pipelines never needs
it. This is the one module of `core.interfaces` that reaches into `core.runtime` (the
layer it starts); nothing in the runtime imports it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from cosmos_curate.core.interfaces.errors import PipelineExecutionError
from cosmos_curate.core.interfaces.results import PipelineResult
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageSpec,
    PipelineTask,
)
from cosmos_curate.core.runtime.run_options import ProgressCallback, RunOptions

logger = logging.getLogger(__name__)

_IGNORED_ARGUMENTS = {
    "runner": "every pipeline runs on cosmos-curate's own streaming engine",
    "args": "profiling and execution-mode flags have no counterpart here; pass run options "
    "as keywords instead",
    "stage_save_config": "its path only: calls are saved in the run folder (see stage_save)",
}


def run_pipeline(  # noqa: PLR0917 - upstream's positional signature
    input_tasks: Iterable[PipelineTask],
    stages: Sequence[CuratorStage[Any, Any] | CuratorStageSpec],
    model_weights_prefix: str | None = None,
    runner: Any = None,
    stage_save_config: Any = None,
    args: Any = None,
    **options: Any,
) -> list[Any]:
    """Run `stages` over `input_tasks` on Ray and return the last stage's outputs.

    `input_tasks` may be any iterable; it is consumed lazily. A task that fails every
    attempt stops the run with `PipelineExecutionError` (after every worker stopped; its
    failure record is kept) unless its stage, or the run (`ignore_failures=True`), ignores
    failures. `model_weights_prefix` (upstream's third argument, `s3://bucket/prefix`):
    fetch missing weights from there (it turns `download_missing` on unless that is given).
    `runner`, `stage_save_config` and `args` are upstream's (same positions); `runner` and
    `args` are accepted and ignored with one warning; `stage_save_config`'s `stages` and
    `sample_rate` become `stage_save` and `stage_save_sample_rate` (its path is not used:
    saves go to the run folder, and the warning says so). Options: the fields of
    `RunOptions` as keywords (its docstring documents each). Each worker node also makes
    sure it has the weights, once per node, before its workers set up.
    """
    rate = getattr(stage_save_config, "sample_rate", 0.0)
    if stage_save_config is not None and rate:  # upstream's rate 0 saves nothing
        options.setdefault("stage_save", list(getattr(stage_save_config, "stages", ())))
        options.setdefault("stage_save_sample_rate", rate)
    given = {"runner": runner, "args": args, "stage_save_config": stage_save_config}
    ignored = [f"{name} ({_IGNORED_ARGUMENTS[name]})" for name, v in given.items() if v is not None]
    if ignored:
        logger.warning("run_pipeline: accepted and ignored: %s", "; ".join(ignored))
    if model_weights_prefix is not None:
        options.setdefault("model_weights_prefix", model_weights_prefix)
        options.setdefault("download_missing", True)
    return execute_pipeline(input_tasks, stages, **options).outputs


def execute_pipeline(
    input_tasks: Iterable[PipelineTask],
    stages: Sequence[CuratorStage[Any, Any] | CuratorStageSpec],
    run_options: RunOptions | None = None,
    **options: Any,
) -> PipelineResult:
    """Like `run_pipeline`, but returns a `PipelineResult` with counts.

    The options are `run_options` (default `RunOptions()`) with the keywords' fields
    replaced: `execute_pipeline(tasks, stages, run, collect_outputs=True)`.
    """
    if run_options is None:
        run_options = RunOptions(**options)
    elif options:
        run_options = attrs.evolve(run_options, **options)
    if run_options.in_process is not False:  # this path imports no Ray
        from cosmos_curate.core.interfaces.stage_interface import as_stage_spec
        from cosmos_curate.core.runtime import in_process

        specs = [as_stage_spec(s) for s in stages]
        if in_process.choose(run_options.in_process, specs, run_options):
            return in_process.run_in_process(specs, input_tasks, run_options)
    # Ray is imported here, when a pipeline runs, so that defining stages never needs it.
    from cosmos_curate.core.runtime.session import execute

    return execute(input_tasks, stages, run_options)


def download_models(model_names: Iterable[str], model_weights_prefix: str | None = None) -> int:
    """Make sure the weights of these model ids are on this machine; upstream's helper.

    Missing ones are downloaded from the hub, or from `model_weights_prefix`
    (`s3://bucket/prefix`). Returns the GPUs of the connected Ray cluster (0 when none is
    connected). Other nodes fetch their weights themselves when a pipeline starts there.
    """
    from cosmos_curate.core.weights.download import ensure_weights

    ensure_weights(list(model_names), download_missing=True, s3_prefix=model_weights_prefix)
    import ray

    if not ray.is_initialized():
        return 0
    from cosmos_curate.core.runtime.ray_connection import node_capacities

    return int(sum(node.gpus for node in node_capacities()))


__all__ = [
    "PipelineExecutionError",
    "PipelineResult",
    "ProgressCallback",
    "RunOptions",
    "download_models",
    "execute_pipeline",
    "run_pipeline",
]
