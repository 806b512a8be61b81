"""Image embeddings other than CLIP's: a Cosmos-Embed1 model, or a served embeddings model.

- `ImageStillClipPrepStage` (CPU) runs a video model's processor on an image as a still clip
  (its one frame repeated as the model's frames); the video flow's `VideoEmbeddingStage` then
  embeds a batch on a (fractional) GPU.
- `ImageEndpointEmbeddingStage` sends each image (JPEG) to an OpenAI-compatible embeddings
  endpoint. One image per call: a failed request or an unusable answer raises for that image
  alone, and the pipeline runs the stage with `ignore_failures`, so the image becomes a
  failure record (exit 3) and the others go on. Requests run in parallel across the stage's
  workers.

Both free the pixels unless a later stage (semantic checks, captions) needs them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.stage_interface import CuratorStageResource
from cosmos_curate.models.openai_captioner import encode_jpeg
from cosmos_curate.models.openai_embedder import EmbeddingAPIError, OpenAIImageEmbedder
from cosmos_curate.models.video_embedder import VideoEmbedPreprocessor
from cosmos_curate.pipelines.image.image_stage import ImageStage
from cosmos_curate.pipelines.image.scoring import ImageModelPrepStage
from cosmos_curate.pipelines.image.tasks import ImageTask

OPENAI_ALGORITHM = "openai"


class ImageStillClipPrepStage(ImageModelPrepStage):
    """Runs a video embedding model's processor on each live image, as a one-frame clip."""

    def __init__(self, preprocessor: VideoEmbedPreprocessor, keep_pixels: bool) -> None:
        super().__init__(preprocessor, keep_pixels)


class ImageEndpointEmbeddingStage(ImageStage):
    """Embeds each live image through a served model; see the module docstring."""

    def __init__(self, embedder: OpenAIImageEmbedder, keep_pixels: bool) -> None:
        self._embedder = embedder
        self.keep_pixels = keep_pixels

    @property
    def resources(self) -> CuratorStageResource:
        """A quarter CPU: a JPEG encode and a request per image."""
        return CuratorStageResource(cpus=0.25)

    @property
    def stage_batch_size(self) -> int:
        """One image per call, so a failure is that image's record alone."""
        return 1

    def stage_setup(self) -> None:
        """Check the API key is here; resolve the served model's name."""
        self._embedder.setup()

    def process_image(self, task: ImageTask, rgb: npt.NDArray[np.uint8]) -> None:
        """Process one live image; see the module docstring."""
        try:
            vector = self._embedder.embed(encode_jpeg(rgb))
        except EmbeddingAPIError as exc:
            msg = f"image {task.source}: {exc}"
            raise EmbeddingAPIError(msg) from exc
        task.embedding = np.asarray(vector, dtype=np.float32)
        task.annotations.update(
            embedding_algorithm=OPENAI_ALGORITHM, embedding_model=self._embedder.model_name
        )
        if not self.keep_pixels:
            task.rgb = None
