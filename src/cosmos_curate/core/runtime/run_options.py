"""How a run is configured: `RunOptions` (every option of `run_pipeline`) and `EngineOptions`.

Declared once here and used by `run_pipeline`/`execute_pipeline` (as keywords), by the
session, by the pipeline registry (a registered pipeline receives them) and by the CLI.
Plain records, no Ray.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs

from cosmos_curate.core.interfaces.results import PipelineProgress
from cosmos_curate.core.runtime.bundling import BundlePolicy
from cosmos_curate.core.runtime.byte_budget import DEFAULT_STORE_FRACTION
from cosmos_curate.core.runtime.errors import StoreFractionError
from cosmos_curate.core.runtime.profiling import profile_kinds
from cosmos_curate.core.runtime.stage_spec import WeightsPolicy
from cosmos_curate.core.runtime.tracing import check_otlp_endpoint
from cosmos_curate.core.utils import settings

ProgressCallback = Callable[[PipelineProgress], None]
"""Receives a progress record every `EngineOptions.report_interval_s` and at the end."""


def _check_store_fraction(_instance: object, _attribute: object, value: float | None) -> None:
    """The one check of `object_store_fraction` (both records' field; None: the default)."""
    if value is not None and not 0 < value <= 1:  # NaN fails the comparison too
        msg = f"object_store_fraction {value}: give a share in (0, 1] of the object store, e.g. 0.5"
        raise StoreFractionError(msg)


@attrs.frozen
class EngineOptions:
    """Tunables of the engine; defaults suit most pipelines."""

    plan_interval_s: float = 1.0
    report_interval_s: float = 0.5
    min_worker_age_s: float = 2.0
    min_queue_tasks: int = 16
    learning_period_s: float = 10.0
    resize_cooldown_s: float = 5.0
    max_parts_per_call: int = 64
    collect_outputs: bool = True
    max_worker_deaths_per_task: int = 3
    max_setup_deaths_in_a_row: int = 5
    min_busy_share_to_grow: float = 0.5
    journal_flush_interval_s: float = 0.5
    bundle_policy: BundlePolicy = attrs.field(factory=BundlePolicy)
    object_store_fraction: float = attrs.field(
        default=DEFAULT_STORE_FRACTION, validator=_check_store_fraction
    )
    """As `RunOptions.object_store_fraction` (which, when given, replaces this one)."""
    locality: bool = True
    """Send a chunk preferably to a free worker on the node that made it."""
    locality_wait_s: float = 0.5
    """How long a chunk may wait for a worker on its own node before going to another one
    (when its node has workers of the stage, all busy)."""
    store_poll_interval_s: float = 2.0
    """How often Ray is asked how full its object store is (for the progress record)."""


def _optional_path(value: str | Path | None) -> Path | None:
    return Path(value) if value is not None else None


def _stage_names(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """`"A,B"` (the command line's form), a list of names or None, as a tuple of names."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    return tuple(name.strip() for name in items if name.strip())


def _sample_rate(value: float | None) -> float:
    return 1.0 if value is None else float(value)


@attrs.frozen(kw_only=True)
class RunOptions:
    """Every option of a run, documented and checked here only.

    `run_pipeline(..., **options)` takes these names as keywords; `execute_pipeline` and the
    pipelines' library calls (`split_videos(options, run_options)`, ...) take the record.

    - `ray_address`: the cluster (default: the connected one, else `RAY_ADDRESS`, else an
      embedded local Ray);
    - `require_gpu`: error instead of running GPU stages on CPU when there is no GPU;
    - `failures_path`: where failure records go (JSON lines; default under the run folder);
    - `run_dir`: the run folder (series, report, failure records; default: a new folder
      under `CURATE_RUNS_DIR`; the CLI passes the folder that also keeps the run's log);
    - `show_progress`: a live progress display on the terminal;
    - `metrics_port`: the embedded cluster's metrics export port (None: none);
    - `num_cpus`/`num_gpus`: the embedded cluster's size (default: this machine's logical
      CPUs, or more when the stages' minimum workers need more, and its GPUs);
    - `collect_outputs`: False drops the last stage's outputs (huge runs);
    - `check_weights`: fail before any worker starts when a model's weights are missing;
    - `download_missing`: fetch missing weights instead; `model_weights_prefix`:
      `s3://bucket/prefix` to fetch them from instead of the hub;
    - `checkpoint_dir`: journal of the inputs that fully left the pipeline; `resume`: skip
      the inputs an earlier run's journal lists (the input must come in the same order);
    - `ignore_failures`: the default of stages whose spec leaves `ignore_failures` None:
      False stops the run with `PipelineExecutionError` at the first task that fails every
      attempt (upstream's behaviour); True records it and goes on;
    - `object_store_fraction`: share in (0, 1] of the cluster's object store that queued
      and in-flight task data may fill (default 0.5, or `engine_options`'; see
      docs/RUNTIME.md, byte budgets);
    - `stage_save`: stage names (a list, or `"A,B"`) whose calls' inputs and outputs are
      saved in the run folder for `curate stage replay`; `stage_save_sample_rate`: the
      share of their calls saved, evenly spaced, the first always (default 1.0: all);
    - `profile`: `"cpu"`, `"memory"`, `"gpu"` (a list, or `"cpu,memory"`): each stage's
      workers profile themselves (pyinstrument, tracemalloc, torch.profiler on stages that
      declare a GPU) into the run folder's `profiles/<stage>/`; report.html lists the top
      functions by time and allocation sites by size;
    - `otlp_endpoint`: an http(s) OTLP/HTTP receiver (`http://host:4318`); one span per
      task per stage, under a span per stage and one for the run, each with the run id;
    - `progress_callbacks`: functions receiving each progress record;
    - `engine_options`: the engine's tunables;
    - `in_process`: True runs the stages in this process without Ray (`in_process` module),
      False on Ray (the default), None lets the run choose: in process for a small run on
      this machine (no cluster given, no GPU, at most 2 CPUs; image-annotate's default).
    """

    ray_address: str | None = None
    require_gpu: bool = False
    failures_path: Path | None = attrs.field(default=None, converter=_optional_path)
    run_dir: Path | None = attrs.field(default=None, converter=_optional_path)
    show_progress: bool = False
    metrics_port: int | None = settings.DEFAULT_METRICS_PORT
    num_cpus: float | None = None
    num_gpus: float | None = None
    collect_outputs: bool = True
    check_weights: bool = True
    download_missing: bool = False
    model_weights_prefix: str | None = None
    checkpoint_dir: Path | None = attrs.field(default=None, converter=_optional_path)
    resume: bool = False
    ignore_failures: bool = False
    object_store_fraction: float | None = attrs.field(default=None, validator=_check_store_fraction)
    stage_save: tuple[str, ...] = attrs.field(default=(), converter=_stage_names)
    stage_save_sample_rate: float = attrs.field(default=1.0, converter=_sample_rate)
    profile: tuple[str, ...] = attrs.field(default=(), converter=profile_kinds)
    otlp_endpoint: str | None = attrs.field(default=None, converter=check_otlp_endpoint)
    progress_callbacks: tuple[ProgressCallback, ...] = attrs.field(default=(), converter=tuple)
    engine_options: EngineOptions | None = None
    in_process: bool | None = False

    def as_kwargs(self) -> dict[str, Any]:
        """The options as keywords; `execute_pipeline(..., run_options=self)` needs none."""
        return attrs.asdict(self, recurse=False)

    @property
    def weights_policy(self) -> WeightsPolicy | None:
        """How nodes get weights, or None when weights are not checked."""
        if not self.check_weights:
            return None
        return WeightsPolicy(self.download_missing, self.model_weights_prefix)

    @property
    def engine(self) -> EngineOptions:
        """The engine's tunables (`collect_outputs` applies when none were given)."""
        if self.engine_options is not None:
            engine = self.engine_options
        else:
            engine = EngineOptions(collect_outputs=self.collect_outputs)
        if self.object_store_fraction is not None:
            engine = attrs.evolve(engine, object_store_fraction=self.object_store_fraction)
        return engine
