"""CLIP image embeddings through transformers, split into CPU preprocessing and inference.

`ClipImagePreprocessor` turns RGB frames into the model's pixel tensors (resize, crop,
normalise) and runs in a CPU stage; `ClipImageEmbedder` runs the vision tower on those
tensors in a (fractional) GPU stage. Both read the same weights folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cosmos_curate.core.utils.device import preferred_device
from cosmos_curate.models._checkpoint import CheckpointModel
from cosmos_curate.models.clip_pixels import ClipPixels

CLIP_MODEL_ID = "openai/clip-vit-large-patch14"


class ClipImagePreprocessor(CheckpointModel):
    """The CLIP image processor alone: frames in, `pixel_values` out (CPU only)."""

    def __init__(self, model_id: str = CLIP_MODEL_ID, weights_root: Path | None = None) -> None:
        super().__init__(model_id, weights_root)
        self._processor: Any = None

    def setup(self) -> None:
        """Read the processor config from the local weights folder.

        A standard CLIP config runs in numpy + Pillow (`ClipPixels`: no torch import in
        this process); any other loads transformers' processor.
        """
        folder = self.weights_folder()
        self._processor = ClipPixels.from_folder(folder)
        if self._processor is None:
            from transformers import AutoImageProcessor

            self._processor = AutoImageProcessor.from_pretrained(folder)  # type: ignore[no-untyped-call]

    def preprocess(self, frames: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """`(T, H, W, 3)` uint8 RGB frames -> `(T, 3, S, S)` float32 model inputs."""
        if self._processor is None:
            raise self.not_set_up()
        if isinstance(self._processor, ClipPixels):
            return self._processor.batch(frames)
        out = self._processor(images=list(frames), return_tensors="np")
        return np.asarray(out["pixel_values"], dtype=np.float32)


class ClipImageEmbedder(CheckpointModel):
    """CLIP vision tower + projection: unit-norm image embeddings."""

    def __init__(self, model_id: str = CLIP_MODEL_ID, weights_root: Path | None = None) -> None:
        super().__init__(model_id, weights_root)
        self._model: Any = None
        self._device = "cpu"

    def setup(self) -> None:
        """Load the model on the worker's preferred device."""
        from transformers import CLIPModel

        folder = self.weights_folder()
        self._device = preferred_device()
        self._model = CLIPModel.from_pretrained(folder)
        self._model.to(self._device)
        self._model.eval()

    @property
    def embedding_dim(self) -> int:
        """Length of one embedding (the projection size)."""
        if self._model is None:
            raise self.not_set_up()
        return int(self._model.config.projection_dim)

    def embed(self, pixel_values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """`(N, 3, S, S)` preprocessed images -> `(N, D)` L2-normalised embeddings."""
        import torch

        if self._model is None:
            raise self.not_set_up()
        with torch.inference_mode():
            pixels = torch.from_numpy(np.ascontiguousarray(pixel_values)).to(self._device)
            out = self._model.get_image_features(pixel_values=pixels)
            # transformers 5 returns a model output whose pooler_output is the projection;
            # 4.x returned the tensor itself.
            feats = out if isinstance(out, torch.Tensor) else out.pooler_output
            feats = torch.nn.functional.normalize(feats.float(), dim=-1)
        return np.asarray(feats.cpu().numpy(), dtype=np.float32)
