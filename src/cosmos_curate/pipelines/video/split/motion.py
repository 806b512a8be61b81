"""Motion filter: drop static clips, scored from motion vectors or, failing that, luma change.

A clip whose codec exports motion vectors (H.264, MPEG-4: `decode.MOTION_VECTOR_CODECS`) is
scored as upstream Cosmos-Curate scores it (`motion_vectors.py`): no frame is converted or
scaled. It is low-motion when its global mean is below `MotionThresholds.global_mean` or its
least-moving 256x256 patch is below `per_patch_min_256`. A clip without vectors (VP9, AV1)
falls back to the luma difference: the mean absolute difference (0-255) between consecutive
frames decoded as `MOTION_SIZE` grayscale, about 0 for a still shot, several units for a
moving scene, low below `luma_difference`. The clip's metadata says which method scored it.
Modes as upstream's `--motion-filter`: `enable` drops low-motion clips, `score-only` scores
without dropping, `disable` (the default) leaves the stage out.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Iterable

import attrs
import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.stage_interface import CuratorStageResource
from cosmos_curate.pipelines.video import decode
from cosmos_curate.pipelines.video.clip_stage import ClipStage
from cosmos_curate.pipelines.video.split.motion_vectors import VectorMotion, VectorMotionMap
from cosmos_curate.pipelines.video.split.shots import difference_scores
from cosmos_curate.pipelines.video.tasks import ClipTask

MOTION_SIZE = (64, 36)
MOTION_FILTER = "motion"


class MotionFilterMode(enum.StrEnum):
    """Upstream's motion filter modes."""

    ENABLE = "enable"
    SCORE_ONLY = "score-only"
    DISABLE = "disable"


class MotionMethod(enum.StrEnum):
    """What produced a clip's motion scores (`motion_method` in its metadata)."""

    MOTION_VECTORS = "motion-vectors"
    LUMA_DIFFERENCE = "luma-difference"


@attrs.frozen
class MotionThresholds:
    """Below any of these a clip is low-motion (defaults: upstream's, and ours for luma)."""

    global_mean: float = 0.00098
    per_patch_min_256: float = 0.000001
    luma_difference: float = 0.5


def motion_score(frames: Iterable[npt.NDArray[np.uint8]]) -> float:
    """Mean absolute change between consecutive frames (0 for fewer than two frames)."""
    scores = difference_scores(frames)[1:]
    return float(np.mean(scores)) if scores else 0.0


def clip_motion_score(encoded: bytes) -> float:
    """Luma-difference motion score of an encoded clip (decodes every frame at 64x36)."""
    width, height = MOTION_SIZE
    frames = decode.frames_as_arrays(
        io.BytesIO(encoded), width=width, height=height, fmt="gray", analysis=True
    )
    return motion_score(array for _, array in frames)


def clip_vector_motion(encoded: bytes) -> VectorMotion | None:
    """Motion-vector scores of an encoded clip; None when its codec exports no vectors."""
    motion_map: VectorMotionMap | None = None
    for width, height, vectors in decode.iter_motion_vectors(io.BytesIO(encoded)):
        if vectors is None:
            continue
        if motion_map is None:
            motion_map = VectorMotionMap(width, height)
        motion_map.add(vectors)
    return motion_map.scores() if motion_map is not None else None


def score_clip_motion(task: ClipTask, thresholds: MotionThresholds) -> str | None:
    """Score `task`'s encoded clip into its motion fields; why it is low-motion, or None."""
    if task.encoded is None:
        msg = f"clip {task.clip_id} has no encoded video to score"
        raise ValueError(msg)
    vector = clip_vector_motion(task.encoded)
    if vector is None:
        score = clip_motion_score(task.encoded)
        task.motion_method = MotionMethod.LUMA_DIFFERENCE.value
        task.motion_score = score
        if score < thresholds.luma_difference:
            return f"motion score {score:.3f} < threshold {thresholds.luma_difference:g}"
        return None
    task.motion_method = MotionMethod.MOTION_VECTORS.value
    task.motion_global_mean = vector.global_mean
    task.motion_per_patch_min_256 = vector.per_patch_min_256
    if vector.global_mean < thresholds.global_mean:
        return f"motion global mean {vector.global_mean:.3g} < threshold {thresholds.global_mean:g}"
    if vector.per_patch_min_256 < thresholds.per_patch_min_256:
        least, limit = vector.per_patch_min_256, thresholds.per_patch_min_256
        return f"motion per-patch min {least:.3g} < threshold {limit:g}"
    return None


class MotionFilterStage(ClipStage):
    """Scores every clip's motion; with `drop`, marks low-motion clips as filtered."""

    def __init__(self, thresholds: MotionThresholds, drop: bool = True) -> None:
        self.thresholds = thresholds
        self.drop = drop

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        # Decodes an already downscaled clip, converting no frame: a fraction of a core.
        return CuratorStageResource(cpus=0.25)

    def process_clip(self, task: ClipTask, encoded: bytes) -> None:
        """Process one live clip; see the class docstring."""
        reason = score_clip_motion(task, self.thresholds)
        if self.drop and reason is not None:
            task.drop(MOTION_FILTER, reason)
