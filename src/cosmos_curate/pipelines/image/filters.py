"""The size and aspect-ratio filter: reject images too small or too elongated to train on."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.stage_interface import CuratorStageResource
from cosmos_curate.pipelines.image.image_stage import ImageStage
from cosmos_curate.pipelines.image.tasks import ImageTask

SIZE_FILTER = "size"


def size_problem(
    width: int, height: int, min_side: int | None, max_aspect_ratio: float | None
) -> str | None:
    """Why an image of this size is rejected, or None when it passes."""
    if min_side is not None and min(width, height) < min_side:
        return f"shorter side {min(width, height)} px < --min-side {min_side}"
    ratio = max(width, height) / max(min(width, height), 1)
    if max_aspect_ratio is not None and ratio > max_aspect_ratio:
        return f"aspect ratio {ratio:.2f} > --max-aspect-ratio {max_aspect_ratio:g}"
    return None


class SizeFilterStage(ImageStage):
    """Marks images failing `size_problem` as rejected (`filtered_by="size"`, with why)."""

    def __init__(self, min_side: int | None, max_aspect_ratio: float | None) -> None:
        self.min_side = min_side
        self.max_aspect_ratio = max_aspect_ratio

    @property
    def resources(self) -> CuratorStageResource:
        """A fraction of a CPU: it only compares numbers."""
        return CuratorStageResource(cpus=0.25)

    def process_image(self, task: ImageTask, rgb: npt.NDArray[np.uint8]) -> None:
        """Process one live image; see the class docstring."""
        height, width = rgb.shape[:2]
        problem = size_problem(width, height, self.min_side, self.max_aspect_ratio)
        if problem is not None:
            task.drop(SIZE_FILTER, problem)
