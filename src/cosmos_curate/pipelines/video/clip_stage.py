"""The base of every stage that works on one clip at a time: `ClipStage`.

A clip a filter dropped, or one that has no encoded video, is passed on untouched (the
writer still records it); the base walks the batch and a subclass writes `process_clip`,
as datatrove's filters write only their decision.
"""

from __future__ import annotations

import abc

from cosmos_curate.core.interfaces.stage_interface import CuratorStage
from cosmos_curate.pipelines.video.tasks import ClipTask


class ClipStage(CuratorStage[ClipTask, ClipTask], abc.ABC):
    """Calls `process_clip` on each live clip of a batch; every clip goes downstream.

    Subclasses write `process_clip` and `resources` (and `model` when they run one).
    """

    def process_data(self, tasks: list[ClipTask]) -> list[ClipTask] | None:
        """Process a batch; see the class docstring."""
        for task in tasks:
            if task.filtered_by is None and task.encoded is not None:
                self.process_clip(task, task.encoded)
        return tasks

    @abc.abstractmethod
    def process_clip(self, task: ClipTask, encoded: bytes) -> None:
        """Work on one live clip in place (annotate it, or `task.drop(...)` it).

        `encoded` is the clip's mp4 (`task.encoded`), given so that it needs no None test.
        """
