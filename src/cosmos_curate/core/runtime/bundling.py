"""Pure sizing of calls: how many tasks go into one actor call.

Tiny tasks are grouped so that each call lasts about `target_call_seconds`, or longer when
the measured per-call overhead (the gap between two queued calls on a worker) would
otherwise exceed `max_overhead_share` of the call: the worker then idles at most that share.
Slow tasks go one batch per call so that work spreads over all workers. Until a stage is
measured it gets one batch per call, so the first tasks stream through at once.
"""

from __future__ import annotations

import math

import attrs


@attrs.frozen
class BundlePolicy:
    """Limits for call sizes."""

    target_call_seconds: float = 0.05
    max_call_seconds: float = 1.0
    max_overhead_share: float = 0.0025
    max_tasks_per_call: int = 512

    def call_seconds(self, overhead_s: float | None) -> float:
        """How long one call should last given the measured per-call overhead."""
        if not overhead_s or overhead_s <= 0:
            return self.target_call_seconds
        wanted = overhead_s / self.max_overhead_share
        return min(self.max_call_seconds, max(self.target_call_seconds, wanted))

    def desired_tasks_per_call(
        self, seconds_per_task: float | None, batch_size: int, overhead_s: float | None = None
    ) -> int:
        """Tasks per call for a stage with this measured cost and `stage_batch_size`."""
        if seconds_per_task is None:
            return batch_size
        if seconds_per_task <= 0:
            batches = self.max_tasks_per_call // batch_size
        else:
            target = self.call_seconds(overhead_s)
            batches = math.floor(target / (seconds_per_task * batch_size))
        batches = max(1, min(batches, max(1, self.max_tasks_per_call // batch_size)))
        return batches * batch_size

    @staticmethod
    def share_for_idle_slots(desired: int, queued_tasks: int, free_slots: int, batch: int) -> int:
        """Cap a call so queued work spreads over all free call slots (no worker starves)."""
        if free_slots <= 1:
            return desired
        share = math.ceil(queued_tasks / free_slots)
        share = max(batch, math.ceil(share / batch) * batch)
        return min(desired, share)
