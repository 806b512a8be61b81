"""Aesthetic score: a small linear head on CLIP image embeddings (LAION-style predictor).

The weights are a `model.safetensors` holding `layers.<i>.weight/bias` of a stack of
`Linear` layers (the LAION "improved aesthetic predictor" layout, dropout layers carrying
no weights). The stack is rebuilt from the shapes found in the file, so any depth works.
Scores are on the predictor's scale (about 1-10 for the released weights).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.utils.device import preferred_device
from cosmos_curate.models._checkpoint import CheckpointModel
from cosmos_curate.models.clip import CLIP_MODEL_ID, ClipImageEmbedder

AESTHETIC_MODEL_ID = "ttj/sac-logos-ava1-l14-linearMSE"
AESTHETIC_WEIGHTS_FILE = "model.safetensors"
_LAYER_KEY = re.compile(r"^layers\.(\d+)\.weight$")


class AestheticWeightsError(ValueError):
    """The aesthetic weights file does not hold a stack of linear layers."""


def build_linear_stack(state: dict[str, Any]) -> Any:
    """A `torch.nn.Sequential` of the `layers.<i>` linear layers in `state`, loaded."""
    import torch

    indices = sorted(int(m.group(1)) for k in state if (m := _LAYER_KEY.match(k)))
    if not indices:
        msg = "aesthetic weights hold no 'layers.<i>.weight' tensors"
        raise AestheticWeightsError(msg)
    layers = []
    for i in indices:
        weight = state[f"layers.{i}.weight"]
        layer = torch.nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            layer.weight.copy_(weight)
            layer.bias.copy_(state[f"layers.{i}.bias"])
        layers.append(layer)
    for prev, nxt in itertools.pairwise(layers):
        if prev.out_features != nxt.in_features:
            msg = f"aesthetic layers do not chain: {prev.out_features} -> {nxt.in_features}"
            raise AestheticWeightsError(msg)
    return torch.nn.Sequential(*layers)


class AestheticScorer(CheckpointModel):
    """Scores unit-norm CLIP embeddings; higher is more aesthetic."""

    def __init__(
        self, model_id: str = AESTHETIC_MODEL_ID, weights_root: Path | None = None
    ) -> None:
        super().__init__(model_id, weights_root)
        self._head: Any = None
        self._device = "cpu"

    def setup(self) -> None:
        """Load the head from `<weights>/<model id>/model.safetensors`."""
        from safetensors.torch import load_file

        path = self.weights_folder() / AESTHETIC_WEIGHTS_FILE
        self._device = preferred_device()
        self._head = build_linear_stack(load_file(str(path))).to(self._device).eval()

    def score(self, embeddings: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """`(N, D)` embeddings -> `(N,)` scores."""
        import torch

        if self._head is None:
            msg = "AestheticScorer.setup() must run before score()"
            raise RuntimeError(msg)
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(embeddings, dtype=np.float32))
            out = self._head(x.to(self._device)).squeeze(-1)
        return np.asarray(out.float().cpu().numpy(), dtype=np.float32)


class ClipAesthetics(ModelInterface):
    """CLIP embeddings and their aesthetic scores, as one model for one GPU stage."""

    def __init__(
        self,
        clip_model_id: str = CLIP_MODEL_ID,
        aesthetic_model_id: str = AESTHETIC_MODEL_ID,
        weights_root: Path | None = None,
    ) -> None:
        self.clip = ClipImageEmbedder(clip_model_id, weights_root)
        self.aesthetics = AestheticScorer(aesthetic_model_id, weights_root)

    @property
    def conda_env_name(self) -> str:
        """Runs in the env of its CLIP model."""
        return self.clip.conda_env_name

    @property
    def model_id_names(self) -> list[str]:
        """Both checkpoints, so a missing one is reported before the run starts."""
        return [*self.clip.model_id_names, *self.aesthetics.model_id_names]

    def setup(self) -> None:
        """Load both models."""
        self.clip.setup()
        self.aesthetics.setup()

    def embed_and_score(
        self, pixel_values: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Per-frame unit-norm embeddings `(N, D)` and aesthetic scores `(N,)`."""
        embeddings = self.clip.embed(pixel_values)
        return embeddings, self.aesthetics.score(embeddings)
