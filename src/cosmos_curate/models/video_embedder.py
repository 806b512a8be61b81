"""Video embedding models shaped like Cosmos-Embed1: one embedding per clip from T frames.

The checkpoint ships its own code (Hugging Face `trust_remote_code`), loaded from the local
weights folder only, and only when that folder is a download verified against its source
(`core.weights.trust`; `CURATE_ALLOW_UNVERIFIED_WEIGHTS=1` opts out). `AutoProcessor` gives
a processor with `num_video_frames` that turns a `(B, T, C, H, W)` uint8 batch into
`{"videos": ...}`, and `AutoModel` gives a model whose `get_video_embeddings(videos=...)`
returns an output with `visual_proj` `(B, D)`. The processor runs in a CPU stage
(`VideoEmbedPreprocessor`), the model in a fractional-GPU stage (`VideoEmbedder`). Another
model with this shape needs only a registry entry and a line in `VIDEO_EMBEDDING_MODELS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from cosmos_curate.core.utils.device import preferred_device
from cosmos_curate.core.weights.trust import require_verified_weights
from cosmos_curate.models._checkpoint import CheckpointModel

# --embedding-algorithm value -> Hugging Face model id (see configs/all_models.json).
VIDEO_EMBEDDING_MODELS: dict[str, str] = {
    "cosmos-embed1-224p": "nvidia/Cosmos-Embed1-224p",
    "cosmos-embed1-336p": "nvidia/Cosmos-Embed1-336p",
    "cosmos-embed1-448p": "nvidia/Cosmos-Embed1-448p",
}


def spread_indices(available: int, wanted: int) -> list[int]:
    """`wanted` indices spread over `range(available)`; repeats frames when there are fewer."""
    if available <= 0:
        return []
    return [min(available - 1, int((k + 0.5) * available / wanted)) for k in range(wanted)]


class VideoEmbedPreprocessor(CheckpointModel):
    """The model's own processor alone: a clip's frames in, one model input out (CPU)."""

    trusts_remote_code: ClassVar[bool] = True

    def __init__(self, model_id: str, weights_root: Path | None = None) -> None:
        super().__init__(model_id, weights_root)
        self._processor: Any = None

    def setup(self) -> None:
        """Load the processor (checkpoint code, local files only)."""
        from transformers import AutoProcessor

        folder = require_verified_weights(self.weights_folder(), self.model_id)
        self._processor = AutoProcessor.from_pretrained(  # type: ignore[no-untyped-call]
            folder, trust_remote_code=True, local_files_only=True
        )

    @property
    def num_frames(self) -> int:
        """Frames the model takes per clip."""
        if self._processor is None:
            raise self.not_set_up()
        return int(self._processor.num_video_frames)

    def preprocess(self, frames: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """`(T, H, W, 3)` RGB frames -> `(1, N, C, S, S)` model input (N = `num_frames`)."""
        picked = frames[spread_indices(len(frames), self.num_frames)]
        batch = np.ascontiguousarray(np.transpose(picked[None], (0, 1, 4, 2, 3)))
        videos = self._processor(videos=batch, return_tensors="pt")["videos"]
        return np.asarray(videos.float().numpy(), dtype=np.float32)


class VideoEmbedder(CheckpointModel):
    """The video model: unit-norm clip embeddings from preprocessed frame stacks."""

    trusts_remote_code: ClassVar[bool] = True

    def __init__(self, model_id: str, weights_root: Path | None = None) -> None:
        super().__init__(model_id, weights_root)
        self._model: Any = None
        self._device = "cpu"

    def setup(self) -> None:
        """Load the model (bf16 on GPU, fp32 on CPU)."""
        import torch
        from transformers import AutoModel

        self._device = preferred_device()
        dtype = torch.bfloat16 if self._device.startswith("cuda") else torch.float32
        folder = require_verified_weights(self.weights_folder(), self.model_id)
        model = AutoModel.from_pretrained(folder, trust_remote_code=True, local_files_only=True)
        self._model = model.to(self._device, dtype=dtype).eval()

    def embed(self, videos: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """`(B, N, C, S, S)` inputs -> `(B, D)` L2-normalised embeddings."""
        import torch

        if self._model is None:
            raise self.not_set_up()
        dtype = next(self._model.parameters()).dtype
        with torch.inference_mode():
            tensor = torch.from_numpy(np.ascontiguousarray(videos)).to(self._device, dtype=dtype)
            out = self._model.get_video_embeddings(videos=tensor).visual_proj
            feats = torch.nn.functional.normalize(out.float(), dim=-1)
        return np.asarray(feats.cpu().numpy(), dtype=np.float32)
