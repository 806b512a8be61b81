"""Motion filter: drop static clips by the mean frame-to-frame change of their luma.

The score is the mean absolute difference (0-255) between consecutive frames of the clip,
decoded as `MOTION_SIZE` grayscale: about 0 for a still shot, several units for a moving
scene. Modes as upstream's `--motion-filter`: `enable` drops clips scoring below the
threshold, `score-only` scores without dropping, `disable` (the default) leaves the stage
out. The score is written to the clip's metadata whenever it was computed.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource
from cosmos_curate.pipelines.video import decode
from cosmos_curate.pipelines.video.splitting import difference_scores
from cosmos_curate.pipelines.video.tasks import ClipTask

MOTION_SIZE = (64, 36)
MOTION_FILTER = "motion"


class MotionFilterMode(enum.StrEnum):
    """Upstream's motion filter modes."""

    ENABLE = "enable"
    SCORE_ONLY = "score-only"
    DISABLE = "disable"


def motion_score(frames: Iterable[npt.NDArray[np.uint8]]) -> float:
    """Mean absolute change between consecutive frames (0 for fewer than two frames)."""
    scores = difference_scores(frames)[1:]
    return float(np.mean(scores)) if scores else 0.0


def clip_motion_score(encoded: bytes) -> float:
    """Motion score of an encoded clip."""
    width, height = MOTION_SIZE
    frames = decode.frames_as_arrays(
        io.BytesIO(encoded), width=width, height=height, fmt="gray", analysis=True
    )
    return motion_score(array for _, array in frames)


class MotionFilterStage(CuratorStage[ClipTask, ClipTask]):
    """Scores every clip's motion; with `drop`, marks clips below `threshold` as filtered."""

    def __init__(self, threshold: float, drop: bool = True) -> None:
        self.threshold = threshold
        self.drop = drop

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        # Decodes an already downscaled clip at a tiny size: a fraction of a core.
        return CuratorStageResource(cpus=0.25)

    def process_data(self, tasks: list[ClipTask]) -> list[ClipTask] | None:
        """Process a batch; see the class docstring."""
        for task in tasks:
            if task.filtered_by is not None or task.encoded is None:
                continue
            score = clip_motion_score(task.encoded)
            task.motion_score = score
            if self.drop and score < self.threshold:
                task.drop(MOTION_FILTER, f"motion score {score:.3f} < threshold {self.threshold:g}")
        return tasks
