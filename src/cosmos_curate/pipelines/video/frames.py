"""Frame extraction at a fixed rate, plus the CLIP preprocessing of those frames (CPU).

Doing the resize/normalise here keeps it out of the GPU embedding stage (see the design
guide's "Extract CPU Processing to Separate Stages"). Frames are kept, capped at
`FRAME_MAX_SIDE`, for the captioning preparation stage further down.
"""

from __future__ import annotations

import io
import math

import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.interfaces.stage_interface import CuratorStageResource
from cosmos_curate.models.clip import ClipImagePreprocessor
from cosmos_curate.pipelines.video import decode
from cosmos_curate.pipelines.video.clip_stage import ClipStage
from cosmos_curate.pipelines.video.tasks import ClipTask

FRAME_MAX_SIDE = 448


def sample_indices(num_frames: int, fps: float, extract_fps: float) -> list[int]:
    """Frame indices at times 0, 1/extract_fps, 2/extract_fps, ... (at least one frame)."""
    if num_frames <= 0:
        return []
    step = fps / extract_fps
    count = max(1, math.ceil(num_frames / step - 1e-9))
    return sorted({min(num_frames - 1, round(k * step)) for k in range(count)})


def even_subset(items: int, wanted: int) -> list[int]:
    """`wanted` indices spread evenly over `range(items)` (all of them when fewer)."""
    if items <= wanted:
        return list(range(items))
    return [int((k + 0.5) * items / wanted) for k in range(wanted)]


def capped_size(width: int, height: int, max_side: int = FRAME_MAX_SIDE) -> tuple[int, int]:
    """`(width, height)` scaled down so that the longer side is at most `max_side`."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


class FrameExtractionStage(ClipStage):
    """Decodes frames at `extract_fps` and prepares them for the embedding model.

    `keep_frames=False` drops the frames once preprocessed (no captioning downstream).
    """

    def __init__(
        self, extract_fps: float, preprocessor: ClipImagePreprocessor, keep_frames: bool = True
    ) -> None:
        self.extract_fps = extract_fps
        self._preprocessor = preprocessor
        self.keep_frames = keep_frames

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        return CuratorStageResource(cpus=0.5)

    @property
    def model(self) -> ModelInterface | None:
        """The model whose weights and env this stage uses."""
        return self._preprocessor

    def process_clip(self, task: ClipTask, encoded: bytes) -> None:
        """Process one live clip; see the class docstring."""
        frames, times = self.extract(task, encoded)
        task.embedding_inputs = self._preprocessor.preprocess(frames)
        task.frame_times_s = times
        task.frames = frames if self.keep_frames else None

    def extract(self, task: ClipTask, encoded: bytes) -> tuple[npt.NDArray[np.uint8], list[float]]:
        """The sampled RGB frames `(T, H, W, 3)` and their times within the clip."""
        total = task.num_frames or (task.end_frame - task.start_frame)
        wanted = set(sample_indices(total, task.meta.fps, self.extract_fps))
        width, height = capped_size(task.width or task.meta.width, task.height or task.meta.height)
        picked: list[npt.NDArray[np.uint8]] = []
        times: list[float] = []
        for index, array in decode.frames_as_arrays(
            io.BytesIO(encoded), width=width, height=height
        ):
            if index in wanted:
                picked.append(array)
                times.append(index / task.meta.fps)
        if not picked:
            msg = f"clip {task.clip_id}: no frame could be extracted"
            raise decode.UnreadableVideoError(msg)
        return np.stack(picked), times
