"""Run a pipeline's stages in this process, without Ray, for a small run on this machine.

An embedded Ray costs seconds and a process per stage before the first task, and every task
crosses the object store between stages. On a machine with a few cores and no GPU that is
most of a small run (image-annotate, 2,000 images on 2 cores: benchmarks/RESULTS.md): the
same stages called one after another on each batch of inputs finish sooner. With 2 or more
CPUs the leading CPU stages run in one helper process (`front_process`), so decoding and
preparation overlap the model stages here.

`run_in_process` keeps the runtime's contract for a stage: it is set up once
(`setup_on_node`, then `setup`), `process_data` gets lists of at most `stage_batch_size`
tasks, a batch has the stage's `num_run_attempts` (a retry gets a pristine copy), and a
batch that fails every attempt is one failure record per task in the failures file; it stops
the run with `PipelineExecutionError` unless the stage ignores failures. The run folder gets
its `report.html`. Not here: worker pools and autoscaling, a stage's own conda env or extra
environment variables, resume journals, `stage_save`, profiling, tracing and the Prometheus
endpoint; `unsupported` names what a run asks for that this path cannot give.

The rule (`choose`): `in_process` forces either path; unset, a run goes in process when no
cluster is given, this machine has no GPU and at most `SMALL_MACHINE_CPUS` CPUs (or the run
asks for no more), and nothing in it needs Ray.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import attrs

from cosmos_curate.core import runs
from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.interfaces.results import (
    FailureRecord,
    PipelineProgress,
    PipelineResult,
    StageProgress,
)
from cosmos_curate.core.interfaces.stage_interface import CuratorStageSpec
from cosmos_curate.core.runtime.failure_policy import stop_unless_ignored
from cosmos_curate.core.runtime.failures import FailureLog
from cosmos_curate.core.runtime.front_process import FrontProcess, front_size
from cosmos_curate.core.runtime.planner import NodeCapacity
from cosmos_curate.core.runtime.run_options import RunOptions
from cosmos_curate.core.runtime.run_sinks import finished_result, start_live_display, start_recorder
from cosmos_curate.core.runtime.stage_calls import (
    StageCounts,
    call_stage,
    in_rounds,
    set_up_stage,
)
from cosmos_curate.core.runtime.stage_env import extra_env_vars
from cosmos_curate.core.runtime.stage_spec import ResolvedStage, resolve_stages
from cosmos_curate.core.utils.device import host_has_gpus
from cosmos_curate.core.weights.check import check_weights as check_stage_weights
from cosmos_curate.report.warning_log import WarningLog

logger = logging.getLogger(__name__)

SMALL_MACHINE_CPUS = 2
"""Most CPUs a run may have for `choose` to keep it in this process: where it was measured
(2 cores: in process 2.4-3.2 ms an image against 4.0-6.5 on Ray, set-up aside). A bigger
machine keeps Ray, whose worker processes can use its cores, until measured there."""
INPUTS_PER_ROUND = 32
"""Inputs read at a time and carried through every stage before the next ones."""
PROGRESS_INTERVAL_S = 0.5


def cluster_given(ray_address: str | None) -> bool:
    """Whether the run has a cluster to go to: an address, `RAY_ADDRESS`, or a joined Ray."""
    if ray_address or os.environ.get("RAY_ADDRESS"):
        return True
    ray = sys.modules.get("ray")  # never imported here just to ask
    return bool(ray is not None and getattr(ray, "is_initialized", lambda: False)())


def unsupported(specs: list[CuratorStageSpec], options: RunOptions) -> str | None:
    """What in these stages or options needs Ray (one phrase), or None when nothing does."""
    asked = {
        "--checkpoint-dir / --resume": options.checkpoint_dir is not None or options.resume,
        "--stage-save": bool(options.stage_save),
        "--profile": bool(options.profile),
        "--otlp-endpoint": options.otlp_endpoint is not None,
    }
    for name, wanted in asked.items():
        if wanted:
            return f"{name} needs the Ray runtime"
    for spec in specs:
        if extra_env_vars(spec.stage):
            return f"stage {spec.stage.name} sets environment variables for its workers"
    return None


def choose(forced: bool | None, specs: list[CuratorStageSpec], options: RunOptions) -> bool:
    """Whether to run in this process (see the module docstring)."""
    if forced is not None:
        return forced
    if cluster_given(options.ray_address) or unsupported(specs, options) is not None:
        return False
    if (options.num_gpus or 0) > 0 or host_has_gpus():
        return False
    return _run_cpus(options) <= SMALL_MACHINE_CPUS


def _run_cpus(options: RunOptions) -> float:
    """The CPUs the run may use: `num_cpus`, else this machine's."""
    return options.num_cpus if options.num_cpus is not None else os.cpu_count() or 1


def run_in_process(
    specs: list[CuratorStageSpec], input_tasks: Iterable[Any], options: RunOptions
) -> PipelineResult:
    """Run `specs` over `input_tasks` here (see the module docstring); as `execute_pipeline`."""
    if not specs:
        msg = "run_pipeline needs at least one stage"
        raise CurateError(msg)
    problem = unsupported(specs, options)
    if problem is not None:
        msg = f"cannot run in this process: {problem}; run it on Ray instead"
        raise CurateError(msg)
    if options.check_weights:
        check_stage_weights(
            [s.stage for s in specs],
            download_missing=options.download_missing,
            s3_prefix=options.model_weights_prefix,
        )
    run_dir = options.run_dir or runs.create_run("run_pipeline").folder
    failures_path = options.failures_path or run_dir / "failures.jsonl"
    resolved = resolve_stages(
        specs,
        cluster_gpus=0.0,
        require_gpu=options.require_gpu,
        run_dir=run_dir,
        ignore_failures=options.ignore_failures,
    )
    with ExitStack() as stack:
        warning_log = stack.enter_context(WarningLog().attached())
        failure_log = FailureLog(failures_path)
        stack.callback(failure_log.close)
        node = NodeCapacity("local", float(os.cpu_count() or 1), 0.0)
        recorder = start_recorder(
            stack, run_dir, resolved, (node,), failures_path, warnings=warning_log.messages
        )
        sinks = [*options.progress_callbacks, recorder]
        if options.show_progress:
            sinks.append(start_live_display(stack))
        runner = _Runner(resolved, failure_log, sinks)
        # the helper first: its stages work while the ones here set up
        front = _start_front(resolved, input_tasks, _run_cpus(options))
        if front is not None:
            stack.callback(front.close)
        runner.set_up(stack, first=len(front.stages) if front is not None else 0)
        outputs = runner.run(input_tasks, front, collect=options.collect_outputs)
        progress = runner.progress(finished=True)
        runner.report(progress)
    return finished_result(outputs, progress, failure_log, recorder, in_process=True)


def _start_front(
    stages: list[ResolvedStage], input_tasks: Iterable[Any], cpus: float
) -> FrontProcess | None:
    """The helper process for the leading CPU stages, when the run has a core for it."""
    count = front_size(stages, cpus)
    front = FrontProcess.start(stages[:count], input_tasks, INPUTS_PER_ROUND) if count else None
    names = ", ".join(s.name for s in stages[:count])
    where = f" ({names} in a helper process)" if front is not None else ""
    logger.info(
        "running the %d stages without Ray%s (a small run on this machine; --no-in-process "
        "runs it on Ray)",
        len(stages),
        where,
    )
    return front


class _Runner:
    """Carries rounds of inputs through the stages, counting what each stage did."""

    def __init__(
        self,
        stages: list[ResolvedStage],
        failure_log: FailureLog,
        sinks: list[Any],
    ) -> None:
        self.stages = stages
        self.failure_log = failure_log
        self.sinks = sinks
        self.counts = [StageCounts() for _ in stages]
        self.started = time.monotonic()
        self.inputs_read = 0
        self.outputs = 0
        self.input_exhausted = False
        self._last_report = 0.0

    def set_up(self, stack: ExitStack, first: int = 0) -> None:
        """Set up the stages from `first` on, in order (`set_up_stage`).

        Each stage set up is destroyed when `stack` closes.
        """
        for stage in self.stages[first:]:
            set_up_stage(stage)
            stack.callback(stage.stage.destroy)

    def run(
        self, input_tasks: Iterable[Any], front: FrontProcess | None, *, collect: bool
    ) -> list[Any]:
        """Every input through every stage; the last stage's outputs when `collect`.

        With `front`, rounds come from the helper after its stages. The last stage (a
        pipeline's writer) runs one round behind, in a thread of its own: its disk waits
        overlap the next round's work in the other stages.
        """
        collected: list[Any] = []
        last = len(self.stages) - 1
        first = len(front.stages) if front is not None else 0
        rounds = self._front_rounds(front) if front is not None else self._rounds(input_tasks)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="last-stage") as behind:
            pending: Future[list[Any]] | None = None
            for round_tasks in rounds:
                tasks = round_tasks
                for index in range(first, last):
                    tasks = self._call_stage(index, tasks)
                if pending is not None:
                    self._finish(pending.result(), collected, collect=collect)
                pending = behind.submit(self._call_stage, last, tasks) if tasks else None
                self._maybe_report()
            if pending is not None:
                self._finish(pending.result(), collected, collect=collect)
        self.input_exhausted = True
        return collected

    def _rounds(self, input_tasks: Iterable[Any]) -> Iterator[list[Any]]:
        for inputs in in_rounds(input_tasks, INPUTS_PER_ROUND):
            self.inputs_read += len(inputs)
            yield inputs

    def _front_rounds(self, front: FrontProcess) -> Iterator[list[Any]]:
        """The helper's rounds, its counts, failure records and warnings taken in here."""
        for done in front.rounds():
            self.inputs_read += done.inputs
            self.counts[: len(done.counts)] = done.counts
            for record in done.logs:
                logging.getLogger(record.name).handle(record)
            for index, records, error in done.failures:
                self._on_failure(self.stages[index], records, error)
            yield done.outputs

    def _finish(self, outputs: list[Any], collected: list[Any], *, collect: bool) -> None:
        self.outputs += len(outputs)
        if collect:
            collected.extend(outputs)

    def _call_stage(self, index: int, tasks: list[Any]) -> list[Any]:
        """`tasks` through stage `index`, batch by batch; its outputs."""
        if not tasks:
            return []
        return call_stage(self.stages[index], self.counts[index], tasks, self._on_failure)

    def _on_failure(
        self, stage: ResolvedStage, records: list[FailureRecord], error: BaseException | None
    ) -> None:
        """Record a batch that failed every attempt; stop unless the stage ignores failures."""
        for record in records:
            self.failure_log.write(record)
        stop_unless_ignored(stage, records, self.failure_log.path, error)

    def _maybe_report(self) -> None:
        now = time.monotonic()
        if now - self._last_report >= PROGRESS_INTERVAL_S:
            self._last_report = now
            self.report(self.progress(finished=False))

    def report(self, progress: PipelineProgress) -> None:
        """Hand `progress` to every sink (report recorder, live display, callbacks)."""
        for sink in self.sinks:
            sink(progress)

    def progress(self, *, finished: bool) -> PipelineProgress:
        """The run now, in the Ray runtime's terms (one worker per stage, no queues)."""
        elapsed = time.monotonic() - self.started
        stages = tuple(
            _stage_progress(stage, counts, elapsed)
            for stage, counts in zip(self.stages, self.counts, strict=True)
        )
        return PipelineProgress(
            stages=stages,
            elapsed_s=elapsed,
            inputs_read=self.inputs_read,
            input_exhausted=self.input_exhausted,
            outputs=self.outputs,
            failures=self.failure_log.total,
            finished=finished,
            inputs_done=self.inputs_read if finished else 0,
        )


def _stage_progress(stage: ResolvedStage, counts: StageCounts, elapsed: float) -> StageProgress:
    """One stage's progress record: its counts and busy seconds; one worker, nothing queued.

    Between rounds, when progress is read, no stage is inside a call: its worker is idle.
    """
    handled = counts.done + counts.failed
    return one_worker_progress(
        stage.name, tasks_done=counts.done, tasks_produced=counts.produced,
        tasks_failed=counts.failed, cpu_fallback=stage.cpu_fallback,
        throughput=handled / elapsed if elapsed > 0 else 0.0,
        seconds_per_task=counts.busy_s / handled if handled else None,
        workers_idle=1, process_seconds_total=counts.busy_s,
    )  # fmt: skip


def one_worker_progress(name: str, **fields: Any) -> StageProgress:
    """A `StageProgress` of a stage run by one worker here: `fields`, every other count 0."""
    zeros: dict[str, Any] = {
        f.name: 0 for f in attrs.fields(StageProgress) if f.default is attrs.NOTHING
    }
    return StageProgress(**{
        **zeros, "cpu_fallback": False, "workers_target": 1, "workers_peak": 1,
        **fields, "name": name,
    })  # fmt: skip
