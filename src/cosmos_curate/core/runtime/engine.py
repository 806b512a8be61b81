"""The streaming engine: every stage runs at once, each as a pool of Ray actors.

One loop on the driver, in numbered phases per round:
  1. feed     - pull input tasks into stage 0's queue while it has room (`intake`);
  2. dispatch - give queued chunks to free workers, downstream stages first, as long as the
                next stage's queue has room (`dispatch`);
  3. collect  - wait briefly for finished calls and setups; forward outputs by reference,
                write failure records, re-queue the calls of dead workers (`collect`,
                `recovery`);
  4. plan     - every `plan_interval_s`, re-plan worker counts from measured speeds
                (`scaling`);
  5. report   - every `report_interval_s`, hand a progress record to the sinks (`progress`).
The phases write the run's `RunState`, and only they do; `flow.PipelineFlow` answers the
questions about it (call sizes, queue limits, work left, whether a new worker pays off).
The driver never deserializes tasks between stages; only the last stage's outputs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import ray

from cosmos_curate.core.interfaces.results import PipelineProgress
from cosmos_curate.core.runtime.byte_budget import ByteBudget
from cosmos_curate.core.runtime.collect import collect
from cosmos_curate.core.runtime.dispatch import dispatch
from cosmos_curate.core.runtime.failures import FailureLog
from cosmos_curate.core.runtime.flow import PipelineFlow
from cosmos_curate.core.runtime.intake import feed
from cosmos_curate.core.runtime.journal import ResumeJournal
from cosmos_curate.core.runtime.ledger import InputLedger
from cosmos_curate.core.runtime.planner import ProportionalPlanner, WorkerPlanner
from cosmos_curate.core.runtime.progress import pipeline_progress
from cosmos_curate.core.runtime.run_options import EngineOptions
from cosmos_curate.core.runtime.run_sinks import ProgressSink
from cosmos_curate.core.runtime.run_state import RunState
from cosmos_curate.core.runtime.scaling import plan
from cosmos_curate.core.runtime.stage_pool import StagePool, wait_until_gone
from cosmos_curate.core.runtime.stage_spec import ResolvedStage
from cosmos_curate.core.runtime.store_stats import StorePoller, object_store_capacity
from cosmos_curate.core.runtime.usage_sampler import UsageSampler
from cosmos_curate.core.runtime.watchdog import expire_hung_calls
from cosmos_curate.core.runtime.wire import SetupReport, dump_stage

if TYPE_CHECKING:
    from cosmos_curate.core.runtime.stage_save import StageSaver
    from cosmos_curate.core.runtime.tracing import TaskTracer

logger = logging.getLogger(__name__)

COLLECT_WAIT_S = 0.05
"""How long one round waits for a call or setup to finish."""
SHUTDOWN_WAIT_S = 10.0
"""How long stopping a run waits for killed workers' processes to be gone."""


class StreamingEngine:
    """Runs resolved stages over an input iterable; see the module docstring."""

    def __init__(
        self,
        stages: list[ResolvedStage],
        failure_log: FailureLog,
        *,
        options: EngineOptions | None = None,
        planner: WorkerPlanner | None = None,
        sinks: Iterable[ProgressSink] = (),
        journal: ResumeJournal | None = None,
        saver: StageSaver | None = None,
        tracer: TaskTracer | None = None,
    ) -> None:
        self._failures = failure_log
        self._saver = saver
        self._tracer = tracer
        self._options = options or EngineOptions()
        self._planner = planner or ProportionalPlanner()
        self._sinks = list(sinks)
        self._journal = journal
        ledger = InputLedger(journal.record if journal is not None else None)
        pools = [StagePool(s, ray.put(dump_stage(s.stage))) for s in stages]
        self._state = RunState.new(stages, pools, ledger)
        self._flow = PipelineFlow(self._state, self._options)

    def run(self, input_tasks: Iterable[Any]) -> list[Any]:
        """Stream `input_tasks` through every stage; return the last stage's outputs."""
        state, options = self._state, self._options
        state.input = enumerate(input_tasks)
        state.started = time.monotonic()
        state.bytes.budget = ByteBudget.from_store(
            object_store_capacity(), options.object_store_fraction, len(state.stages)
        )
        done = self._journal.done if self._journal is not None else None
        store = StorePoller(options.store_poll_interval_s)
        store.start()
        usage = UsageSampler()
        try:
            plan(state, self._flow, self._planner)
            next_plan = next_report = next_flush = time.monotonic()
            while True:
                round_start = time.perf_counter()
                feed(state, self._flow, done)  # 1
                dispatch(state, self._flow)  # 2
                if self._flow.all_done():
                    break
                collect(  # 3
                    state, options, self._failures, COLLECT_WAIT_S,
                    saver=self._saver, tracer=self._tracer,
                )  # fmt: skip
                now = time.monotonic()
                expire_hung_calls(state, now)
                store.observe(state)
                usage.observe(state, now)
                if now >= next_plan or state.newly_measured:  # 4
                    state.newly_measured = False
                    plan(state, self._flow, self._planner)
                    next_plan = now + options.plan_interval_s
                if now >= next_report:  # 5
                    self._report(finished=False)
                    next_report = now + options.report_interval_s
                if self._journal is not None and now >= next_flush:
                    self._journal.flush()
                    next_flush = now + options.journal_flush_interval_s
                state.rounds += 1
                state.round_seconds += time.perf_counter() - round_start
            if self._journal is not None:
                self._journal.flush()
            store.observe(state, now=True)
            self._report(finished=True)
            return state.outputs
        finally:
            store.stop()
            self._shutdown()

    def progress(self, *, finished: bool = False) -> PipelineProgress:
        """The run's progress record now."""
        return pipeline_progress(self._state, failures=self._failures.total, finished=finished)

    def _report(self, *, finished: bool) -> None:
        if not self._sinks:
            return
        progress = self.progress(finished=finished)
        for sink in self._sinks:
            try:
                sink(progress)
            except Exception:  # a broken display must never stop the pipeline
                logger.exception("progress sink failed")

    def _shutdown(self) -> None:
        pending = [*self._state.calls, *self._state.setups]
        killed: list[SetupReport] = []
        for stage in self._state.stages:
            try:
                killed += stage.pool.shutdown()
            except Exception:  # keep stopping the others
                logger.exception("could not stop the workers of %s", stage.spec.name)
        if pending:
            # Stopped mid-run (a failure, Ctrl-C): wait until no worker still runs user code
            # before the run's error reaches the caller. A killed actor's calls resolve (with
            # an error) when Ray has marked it dead, which can be a moment before its process
            # ends: this node's killed workers are then waited for by PID too.
            deadline = time.monotonic() + SHUTDOWN_WAIT_S
            try:
                ray.wait(pending, num_returns=len(pending), timeout=SHUTDOWN_WAIT_S)
                here = ray.get_runtime_context().get_node_id()
            except Exception:  # Ray itself going down: nothing left to wait for
                logger.debug("waiting for killed workers failed", exc_info=True)
            else:
                local = [r.pid for r in killed if r.node_id == here]
                wait_until_gone(local, timeout=max(0.0, deadline - time.monotonic()))
        self._state.calls.clear()
        self._state.setups.clear()
