"""One stage's pool of worker actors, each in an explicit state."""

from __future__ import annotations

import contextlib
import enum
import itertools
import time
from collections.abc import Iterable
from typing import Any

import attrs
import psutil
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from cosmos_curate.core.runtime.stage_spec import ResolvedStage
from cosmos_curate.core.runtime.wire import SetupReport
from cosmos_curate.core.runtime.worker import StageWorker

_RemoteWorker = ray.remote(StageWorker)
PROFILE_FLUSH_TIMEOUT_S = 60.0
"""How long stopping a profiled stage waits for its workers to write their profiles."""


class WorkerState(enum.Enum):
    """Life of a worker: STARTING (setup running) -> READY -> DRAINING (no new calls)."""

    STARTING = "starting"
    READY = "ready"
    DRAINING = "draining"


@attrs.define(eq=False)
class WorkerHandle:
    """The driver's view of one worker actor."""

    worker_id: int
    actor: Any
    state: WorkerState
    created_at: float
    node_id: str | None = None
    setup: SetupReport | None = None
    ready_at: float | None = None
    calls_in_flight: int = 0
    tasks_in_flight: int = 0
    exclusive: bool = False
    """Running a suspect chunk alone: nothing else is sent to it until that call returns."""


class StagePool:
    """Creates, tracks and retires the actors of one stage.

    The engine asks it for free call slots, submits calls through it and tells it when calls
    finish or actors die; the pool never touches another stage.
    """

    def __init__(self, stage: ResolvedStage, stage_blob_ref: Any) -> None:
        self.stage = stage
        self._stage_blob_ref = stage_blob_ref
        self._workers: dict[int, WorkerHandle] = {}
        self._ids = itertools.count()
        self.setup_failures_in_a_row = 0
        self.total_setup_failures = 0
        self.total_setups_done = 0
        self.last_recycle = time.monotonic()
        """When a worker was last retired for its age (`worker_max_lifetime_m`)."""
        self.setup_deaths_in_a_row = 0
        self.workers_lost = 0
        self.peak_active = 0
        """Most workers starting or ready at once, over the run."""
        self.startup_seconds: float | None = None
        """Latest time from creating a worker to its setup returning (None until one did)."""
        self._destroys: list[Any] = []
        """A profiled stage's retired workers' `destroy` calls (they write the profiles)."""

    # ---- views -------------------------------------------------------------------
    @property
    def workers(self) -> list[WorkerHandle]:
        """All live workers, any state."""
        return list(self._workers.values())

    def count(self, state: WorkerState) -> int:
        """Live workers in `state`."""
        return sum(1 for w in self._workers.values() if w.state is state)

    @property
    def active_count(self) -> int:
        """Workers starting or ready (the ones that count toward the target)."""
        return self.count(WorkerState.STARTING) + self.count(WorkerState.READY)

    @property
    def busy_count(self) -> int:
        """Ready workers with at least one call in flight."""
        return sum(
            1 for w in self._workers.values() if w.state is WorkerState.READY and w.calls_in_flight
        )

    @property
    def tasks_in_flight(self) -> int:
        """Tasks inside calls not yet returned."""
        return sum(w.tasks_in_flight for w in self._workers.values())

    def free_slots(self) -> list[WorkerHandle]:
        """Ready workers that can take another call, least loaded first."""
        limit = self.stage.slots_per_actor
        free = [
            w
            for w in self._workers.values()
            if w.state is WorkerState.READY and w.calls_in_flight < limit and not w.exclusive
        ]
        free.sort(key=lambda w: w.calls_in_flight)
        return free

    def free_slot_count(self) -> int:
        """Calls that ready workers could still accept."""
        limit = self.stage.slots_per_actor
        return sum(
            limit - w.calls_in_flight
            for w in self._workers.values()
            if w.state is WorkerState.READY and not w.exclusive
        )

    def idle_worker(self) -> WorkerHandle | None:
        """A ready worker with no call in flight (for a suspect chunk that must run alone)."""
        for worker in self._workers.values():
            if worker.state is WorkerState.READY and worker.calls_in_flight == 0:
                return worker
        return None

    # ---- lifecycle ---------------------------------------------------------------
    def start_worker(self, node_id: str | None = None) -> tuple[WorkerHandle, Any]:
        """Create an actor (pinned to `node_id` if given); returns it and its setup ref."""
        stage = self.stage
        options: dict[str, Any] = {
            "num_cpus": stage.cpus,
            "num_gpus": stage.gpus,
            "max_restarts": 0,
            "max_concurrency": 1,
            "name": None,
        }
        if stage.runtime_env:
            options["runtime_env"] = stage.runtime_env
        if node_id is not None:
            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id, soft=False)
        actor = _RemoteWorker.options(**options).remote(  # type: ignore[attr-defined]
            self._stage_blob_ref, stage.worker_config
        )
        self.peak_active = max(self.peak_active, self.active_count + 1)
        handle = WorkerHandle(
            worker_id=next(self._ids),
            actor=actor,
            state=WorkerState.STARTING,
            created_at=time.monotonic(),
            node_id=node_id,
        )
        self._workers[handle.worker_id] = handle
        return handle, actor.setup.remote()  # type: ignore[attr-defined]

    def on_setup_done(self, worker: WorkerHandle, report: SetupReport) -> None:
        """Mark a worker ready once its setup returned."""
        self.total_setups_done += 1
        self.setup_failures_in_a_row = 0
        self.setup_deaths_in_a_row = 0
        worker.setup = report
        worker.node_id = report.node_id
        if worker.state is WorkerState.STARTING:
            worker.state = WorkerState.READY
            worker.ready_at = time.monotonic()
            self.startup_seconds = worker.ready_at - worker.created_at

    def on_died_in_setup(self, worker: WorkerHandle) -> None:
        """Forget a worker whose process died before its setup returned."""
        self.setup_deaths_in_a_row += 1
        self.on_worker_died(worker)

    def on_setup_failed(self, worker: WorkerHandle) -> None:
        """Forget a worker whose `stage_setup` raised."""
        self.setup_failures_in_a_row += 1
        self.total_setup_failures += 1
        self._discard(worker, kill=True)

    def submit(
        self,
        worker: WorkerHandle,
        n_parts: int,
        chunks: list[Any],
        spans: list[tuple[int, int]],
        n_tasks: int,
        *,
        exclusive: bool = False,
    ) -> Any:
        """Send one call (`spans`: each chunk's slice); returns the refs `(report, part_0, ...)`."""
        worker.exclusive = exclusive
        worker.calls_in_flight += 1
        worker.tasks_in_flight += n_tasks
        process = worker.actor.process.options(num_returns=1 + n_parts)
        refs = process.remote(n_parts, tuple(spans), *chunks)
        return refs

    def on_call_done(self, worker: WorkerHandle, n_tasks: int) -> None:
        """Account a finished call; a draining worker with nothing left is retired."""
        worker.calls_in_flight -= 1
        worker.tasks_in_flight -= n_tasks
        worker.exclusive = False
        if worker.state is WorkerState.DRAINING and worker.calls_in_flight == 0:
            self._discard(worker, kill=True, destroy=True)

    def on_worker_died(self, worker: WorkerHandle) -> None:
        """Forget a worker whose process is gone; the engine re-queues its calls."""
        if worker.worker_id in self._workers:
            self.workers_lost += 1
        self._discard(worker, kill=False)

    def is_live(self, worker: WorkerHandle) -> bool:
        """Whether the pool still tracks this worker."""
        return worker.worker_id in self._workers

    def scale_to(self, target: int, min_age_s: float) -> list[tuple[WorkerHandle, Any]]:
        """Start or retire workers toward `target`; returns the new workers' setup refs.

        Workers still in setup are never retired; ready ones are retired idle first, and
        only once they have been ready for `min_age_s` (no churn).
        """
        started: list[tuple[WorkerHandle, Any]] = []
        active = self.active_count
        for _ in range(target - active):
            started.append(self.start_worker())
        if target < active:
            now = time.monotonic()
            candidates = [
                w
                for w in self._workers.values()
                if w.state is WorkerState.READY and now - (w.ready_at or now) >= min_age_s
            ]
            candidates.sort(key=lambda w: w.calls_in_flight)
            for worker in candidates[: active - target]:
                self._drain(worker)
        return started

    def scale_per_node(
        self, per_node: int, node_ids: Iterable[str]
    ) -> list[tuple[WorkerHandle, Any]]:
        """Keep exactly `per_node` starting-or-ready workers pinned to each node."""
        started: list[tuple[WorkerHandle, Any]] = []
        for node_id in node_ids:
            have = sum(
                1
                for w in self._workers.values()
                if w.node_id == node_id and w.state is not WorkerState.DRAINING
            )
            for _ in range(per_node - have):
                started.append(self.start_worker(node_id))
        return started

    def retire(self, worker: WorkerHandle) -> None:
        """Send no more calls to `worker`; it is destroyed once its calls in flight return."""
        if self.is_live(worker) and worker.state is not WorkerState.DRAINING:
            self._drain(worker)

    def recycle_expired(self, now: float) -> WorkerHandle | None:
        """Retire the oldest ready worker past the stage's lifetime, at most once per interval.

        Its calls in flight finish first (nothing is lost); the planner starts a replacement.
        """
        lifetime = self.stage.worker_max_lifetime_s
        if lifetime <= 0 or now - self.last_recycle < self.stage.worker_restart_interval_s:
            return None
        expired = [
            w
            for w in self._workers.values()
            if w.state is WorkerState.READY and now - (w.ready_at or now) >= lifetime
        ]
        if not expired:
            return None
        oldest = min(expired, key=lambda w: w.ready_at or now)
        self.last_recycle = now
        self._drain(oldest)
        return oldest

    @property
    def setups_pending(self) -> int:
        """Workers whose setup has not returned yet."""
        return self.count(WorkerState.STARTING)

    def retire_all_idle(self) -> None:
        """Drain every ready worker (used when the stage has finished its input)."""
        for worker in list(self._workers.values()):
            if worker.state is WorkerState.READY:
                self._drain(worker)

    def _drain(self, worker: WorkerHandle) -> None:
        worker.state = WorkerState.DRAINING
        if worker.calls_in_flight == 0:
            self._discard(worker, kill=True, destroy=True)

    def _discard(self, worker: WorkerHandle, *, kill: bool, destroy: bool = False) -> None:
        self._workers.pop(worker.worker_id, None)
        if destroy:
            # Fire and forget: destroy() runs before the kill is processed, in actor order.
            done = worker.actor.destroy.remote()
            if self.stage.worker_config.profile is not None:
                self._destroys.append(done)
            worker.actor.__ray_terminate__.remote()
        elif kill:
            ray.kill(worker.actor, no_restart=True)

    def shutdown(self) -> list[SetupReport]:
        """Kill every actor of the pool now (a profiled stage's after writing its profiles).

        Returns the setup reports (PID and node) of the workers killed that had set up: Ray
        reports a kill before the process has ended, so a caller that must know no user code
        still runs waits for those PIDs.
        """
        if self.stage.worker_config.profile is not None:
            self._flush_profiles()
        killed = []
        for worker in list(self._workers.values()):
            ray.kill(worker.actor, no_restart=True)
            if worker.setup is not None:
                killed.append(worker.setup)
        self._workers.clear()
        return killed

    def _flush_profiles(self) -> None:
        # Behind any call still running (one call at a time per actor); bounded, so a hung
        # worker cannot hold the run's end.
        refs = [
            w.actor.flush_profiles.remote()
            for w in self._workers.values()
            if w.state is not WorkerState.STARTING
        ]
        refs += self._destroys  # retired workers: their files are written by then too
        if refs:
            ray.wait(refs, num_returns=len(refs), timeout=PROFILE_FLUSH_TIMEOUT_S)


def wait_until_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait up to `timeout` s until none of `pids` (this machine's) runs.

    Returns the ones still running; a zombie (ended, not yet reaped) counts as gone.
    """
    procs = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            procs.append(psutil.Process(pid))
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in procs if _running(p)]
        if not alive or time.monotonic() >= deadline:
            return [p.pid for p in alive]
        time.sleep(0.01)


def _running(proc: psutil.Process) -> bool:
    try:
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False
