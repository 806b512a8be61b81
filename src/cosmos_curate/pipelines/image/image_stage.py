"""The base of every stage that works on one decoded image at a time: `ImageStage`.

An image a filter rejected, or one whose pixels are gone (freed by an earlier stage because
nothing downstream needs them), is passed on untouched (the writer still records it); the
base walks the batch and a subclass writes `process_image`, as `ClipStage` is for clips.
"""

from __future__ import annotations

import abc

import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.stage_interface import CuratorStage
from cosmos_curate.pipelines.image.tasks import ImageTask


class ImageStage(CuratorStage[ImageTask, ImageTask], abc.ABC):
    """Calls `process_image` on each live image of a batch; every image goes downstream.

    Subclasses write `process_image` and `resources` (and `model` when they load one).
    """

    def process_data(self, tasks: list[ImageTask]) -> list[ImageTask] | None:
        """Process a batch; see the class docstring."""
        for task in tasks:
            if task.filtered_by is None and task.rgb is not None:
                self.process_image(task, task.rgb)
        return tasks

    @abc.abstractmethod
    def process_image(self, task: ImageTask, rgb: npt.NDArray[np.uint8]) -> None:
        """Work on one live image in place (annotate it, or `task.drop(...)` it).

        `rgb` is the image's decoded pixels (`task.rgb`, `(H, W, 3)` uint8), given so that
        it needs no None test.
        """
