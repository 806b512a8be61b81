"""CPU and memory of workers while their calls run, not only when a call ends.

A worker reports its CPU and memory with each finished call; a call that runs for minutes
(one video) would read 0 until it ends. On the driver's own node (an embedded or one-node
cluster) the driver reads each busy worker's process directly (psutil, by the pid its setup
reported) every `USAGE_SAMPLE_S`. Workers on other nodes keep their per-call readings.
"""

from __future__ import annotations

import time

import psutil
import ray

from cosmos_curate.core.runtime.run_state import RunState, StageRun

USAGE_SAMPLE_S = 2.0


class UsageSampler:
    """Updates the stages' per-worker CPU and memory readings of this node's busy workers."""

    def __init__(self, interval_s: float = USAGE_SAMPLE_S) -> None:
        self._interval_s = interval_s
        self._next = 0.0
        self._processes: dict[tuple[int, int], psutil.Process] = {}
        try:
            self._node_id: str | None = ray.get_runtime_context().get_node_id()
        except Exception:  # a client connection has no node: per-call readings only
            self._node_id = None

    def observe(self, state: RunState, now: float | None = None) -> None:
        """Take a reading when one is due (cheap otherwise)."""
        now = time.monotonic() if now is None else now
        if self._node_id is None or now < self._next:
            return
        self._next = now + self._interval_s
        for index, stage in enumerate(state.stages):
            if self._sample_stage(index, stage):
                live = [w.worker_id for w in stage.pool.workers]
                stats = stage.stats
                stats.usage.observe(
                    now,
                    sum(stats.cpu_percent_by_worker.get(w, 0.0) for w in live),
                    sum(stats.rss_by_worker.get(w, 0) for w in live),
                )

    def _sample_stage(self, index: int, stage: StageRun) -> bool:
        """Read the stage's busy local workers; whether any reading was taken."""
        read = False
        for worker in stage.pool.workers:
            setup = worker.setup
            if setup is None or not worker.calls_in_flight or setup.node_id != self._node_id:
                continue
            key = (index, worker.worker_id)
            try:
                process = self._processes.get(key)
                if process is None:
                    process = self._processes[key] = psutil.Process(setup.pid)
                    process.cpu_percent()  # prime: the next reading covers the time since now
                    continue
                stage.stats.cpu_percent_by_worker[worker.worker_id] = process.cpu_percent()
                stage.stats.rss_by_worker[worker.worker_id] = process.memory_info().rss
                read = True
            except psutil.Error:  # the worker's process is gone: its call will fail
                self._processes.pop(key, None)
        return read
