"""Clip embeddings: CLIP (+ aesthetic score and filter) or a video model, on a fractional GPU.

Inputs arrive preprocessed (see `frames.py`), so the GPU only runs the model. A clip's
embedding is the unit-norm mean of its frames' embeddings; its aesthetic score reduces its
frames' scores by `AestheticReduction` (video-split: `--aesthetic-reduction`, `min` as
upstream), and the clip's metadata says which (`aesthetic_reduction`). A video model
(`--embedding-algorithm cosmos-embed1-*`) gets its frames from `VideoEmbedPrepStage` (CPU)
and embeds each clip as a whole.
"""

from __future__ import annotations

import enum

import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.interfaces.stage_interface import CuratorStageResource
from cosmos_curate.models.aesthetics import ClipAesthetics
from cosmos_curate.models.video_embedder import VideoEmbedder, VideoEmbedPreprocessor
from cosmos_curate.pipelines.video.clip_frames import decode_frames
from cosmos_curate.pipelines.video.clip_stage import ClipStage
from cosmos_curate.pipelines.video.frames import capped_size, sample_indices
from cosmos_curate.pipelines.video.model_stage import BatchedModelStage
from cosmos_curate.pipelines.video.tasks import ClipTask

AESTHETIC_FILTER = "aesthetic"
CLIP_ALGORITHM = "clip"


class AestheticReduction(enum.StrEnum):
    """How a clip's per-frame aesthetic scores become its score (upstream's choices)."""

    MIN = "min"
    MEAN = "mean"

    def reduce(self, scores: npt.NDArray[np.float32]) -> float:
        """The clip's score from its frames' scores (at least one)."""
        return float(scores.min() if self is AestheticReduction.MIN else scores.mean())


def mean_embedding(frame_embeddings: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Unit-norm mean of `(T, D)` unit-norm frame embeddings."""
    mean = frame_embeddings.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return np.asarray(mean / norm if norm > 0 else mean, dtype=np.float32)


class ClipEmbeddingStage(BatchedModelStage[ClipAesthetics]):
    """Embeds and scores a batch of clips in one forward pass; filters by aesthetics."""

    def __init__(
        self,
        model: ClipAesthetics,
        aesthetic_threshold: float | None,
        batch_size: int = 16,
        keep_embedding: bool = True,
        gpus: float = 0.25,
        *,
        aesthetic_reduction: AestheticReduction = AestheticReduction.MEAN,
    ) -> None:
        super().__init__(model, batch_size=batch_size, gpus=gpus)
        self.aesthetic_threshold = aesthetic_threshold
        self.aesthetic_reduction = aesthetic_reduction
        # False when another model makes the clip's embedding (or none is wanted): CLIP then
        # only serves the aesthetic score.
        self.keep_embedding = keep_embedding

    def process_data(self, tasks: list[ClipTask]) -> list[ClipTask] | None:
        """Process a batch; see the class docstring."""
        live = [t for t in tasks if t.filtered_by is None and t.embedding_inputs is not None]
        if not live:
            return tasks
        arrays = [t.embedding_inputs for t in live if t.embedding_inputs is not None]
        inputs = np.concatenate(arrays)
        embeddings, scores = self._model.embed_and_score(inputs)
        offset = 0
        for task in live:
            n = len(task.embedding_inputs) if task.embedding_inputs is not None else 0
            if self.keep_embedding:
                task.embedding = mean_embedding(embeddings[offset : offset + n])
                task.annotations.update(
                    embedding_algorithm=CLIP_ALGORITHM, embedding_model=self._model.clip.model_id
                )
            task.aesthetic_score = self.aesthetic_reduction.reduce(scores[offset : offset + n])
            task.annotations["aesthetic_reduction"] = self.aesthetic_reduction.value
            task.embedding_inputs = None
            offset += n
            threshold = self.aesthetic_threshold
            if threshold is not None and task.aesthetic_score < threshold:
                task.drop(AESTHETIC_FILTER)
        return tasks


class VideoEmbedPrepStage(ClipStage):
    """Decodes each clip at `sampling_fps` and runs the video model's processor (CPU)."""

    def __init__(self, preprocessor: VideoEmbedPreprocessor, sampling_fps: float = 2.0) -> None:
        self._preprocessor = preprocessor
        self.sampling_fps = sampling_fps

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
        total = task.num_frames or (task.end_frame - task.start_frame)
        width, height = capped_size(task.width or task.meta.width, task.height or task.meta.height)
        indices = sample_indices(total, task.meta.fps, self.sampling_fps)
        frames = decode_frames(encoded, indices, width, height)
        stack = np.stack([frames[i] for i in sorted(frames)])
        task.embedding_inputs = self._preprocessor.preprocess(stack)


class VideoEmbeddingStage(BatchedModelStage[VideoEmbedder]):
    """One embedding per clip from a video model, a batch of clips per forward pass."""

    def __init__(
        self, model: VideoEmbedder, algorithm: str, batch_size: int = 8, gpus: float = 0.25
    ) -> None:
        super().__init__(model, batch_size=batch_size, gpus=gpus)
        self.algorithm = algorithm

    def process_data(self, tasks: list[ClipTask]) -> list[ClipTask] | None:
        """Process a batch; see the class docstring."""
        live = [t for t in tasks if t.filtered_by is None and t.embedding_inputs is not None]
        if not live:
            return tasks
        arrays = [t.embedding_inputs for t in live if t.embedding_inputs is not None]
        embeddings = self._model.embed(np.concatenate(arrays))
        for task, embedding in zip(live, embeddings, strict=True):
            task.embedding = np.asarray(embedding, dtype=np.float32)
            task.embedding_inputs = None
            task.annotations.update(
                embedding_algorithm=self.algorithm, embedding_model=self._model.model_id
            )
        return tasks
