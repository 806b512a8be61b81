"""CLIP embeddings and aesthetic scores on a quarter of a GPU, plus the aesthetic filter.

Inputs arrive preprocessed (see `frames.py`), so the GPU only runs the model. A clip's
embedding is the unit-norm mean of its frames' embeddings; its aesthetic score is the mean
of its frames' scores.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource
from cosmos_curate.models.aesthetics import ClipAesthetics
from cosmos_curate.pipelines.video.tasks import ClipTask

AESTHETIC_FILTER = "aesthetic"


def mean_embedding(frame_embeddings: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Unit-norm mean of `(T, D)` unit-norm frame embeddings."""
    mean = frame_embeddings.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return np.asarray(mean / norm if norm > 0 else mean, dtype=np.float32)


class ClipEmbeddingStage(CuratorStage[ClipTask, ClipTask]):
    """Embeds and scores a batch of clips in one forward pass; filters by aesthetics."""

    def __init__(
        self, model: ClipAesthetics, aesthetic_threshold: float | None, batch_size: int = 16
    ) -> None:
        self._model = model
        self.aesthetic_threshold = aesthetic_threshold
        self.batch_size = batch_size

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        # A small model: four workers share one GPU.
        return CuratorStageResource(cpus=0.25, gpus=0.25)

    @property
    def model(self) -> ModelInterface | None:
        """The model whose weights and env this stage uses."""
        return self._model

    @property
    def stage_batch_size(self) -> int:
        """Clips per call, so one forward pass serves several clips."""
        return self.batch_size

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
            task.embedding = mean_embedding(embeddings[offset : offset + n])
            task.aesthetic_score = float(scores[offset : offset + n].mean())
            task.embedding_inputs = None
            offset += n
            threshold = self.aesthetic_threshold
            if threshold is not None and task.aesthetic_score < threshold:
                task.drop(AESTHETIC_FILTER)
        return tasks
