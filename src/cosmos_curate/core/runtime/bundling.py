"""Pure sizing of calls: how many tasks go into one actor call.

Tiny tasks are grouped so that each call lasts about `target_call_seconds` (the per-call
overhead of Ray is then a small fraction); slow tasks go one batch per call so that work
spreads over all workers. Until a stage is measured it gets one batch per call, so the
first tasks stream through at once.
"""

from __future__ import annotations

import math

import attrs


@attrs.frozen
class BundlePolicy:
    """Limits for call sizes."""

    target_call_seconds: float = 0.05
    max_tasks_per_call: int = 512

    def desired_tasks_per_call(self, seconds_per_task: float | None, batch_size: int) -> int:
        """Tasks per call for a stage with this measured cost and `stage_batch_size`."""
        if seconds_per_task is None:
            return batch_size
        if seconds_per_task <= 0:
            batches = self.max_tasks_per_call // batch_size
        else:
            batches = math.floor(self.target_call_seconds / (seconds_per_task * batch_size))
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
