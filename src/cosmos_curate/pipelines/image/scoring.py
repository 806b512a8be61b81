"""CLIP inputs for images (CPU); the video flow's `ClipEmbeddingStage` then embeds and scores.

An image is a clip of one frame there: its embedding is its CLIP embedding (unit norm), its
aesthetic score the CLIP+MLP predictor's score, and the same `--aesthetic-threshold` rejects
it (`filtered_by="aesthetic"`). `ImageModelPrepStage` is that preparation for any model's
processor (`embedding.py` runs a video embedding model's on images with it).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.interfaces.stage_interface import CuratorStageResource
from cosmos_curate.models.clip import ClipImagePreprocessor
from cosmos_curate.models.video_embedder import VideoEmbedPreprocessor
from cosmos_curate.pipelines.image.image_stage import ImageStage
from cosmos_curate.pipelines.image.tasks import ImageTask


class ImageModelPrepStage(ImageStage):
    """Runs a model's processor on each live image (CPU), for a batched model stage after it.

    Sets `task.embedding_inputs`; frees the pixels unless a later stage needs them.
    """

    def __init__(
        self, preprocessor: ClipImagePreprocessor | VideoEmbedPreprocessor, keep_pixels: bool
    ) -> None:
        self._preprocessor = preprocessor
        self.keep_pixels = keep_pixels

    @property
    def resources(self) -> CuratorStageResource:
        """Half a CPU: resize, crop and normalise."""
        return CuratorStageResource(cpus=0.5)

    @property
    def model(self) -> ModelInterface | None:
        """The processor whose weights (and checkpoint code) this stage loads."""
        return self._preprocessor

    def process_image(self, task: ImageTask, rgb: npt.NDArray[np.uint8]) -> None:
        """Process one live image; see the class docstring."""
        task.embedding_inputs = self._preprocessor.preprocess(rgb[None])
        if not self.keep_pixels:
            task.rgb = None


class ImageClipPrepStage(ImageModelPrepStage):
    """Runs the CLIP image processor on each image; frees the pixels unless captions follow."""

    def __init__(self, preprocessor: ClipImagePreprocessor, keep_pixels: bool) -> None:
        super().__init__(preprocessor, keep_pixels)
