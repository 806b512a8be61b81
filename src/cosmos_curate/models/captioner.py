"""Vision-language captioning through transformers, split into CPU preparation and generation.

`VLMInputPreparer` runs the model's processor (chat template, image resize/normalise,
tokenise) in a CPU stage (without torch for a LLaVA checkpoint that `LlavaInputs`
reproduces); `VLMCaptioner` batches the prepared inputs and generates on the GPU. Any
checkpoint that `AutoProcessor` and `AutoModelForImageTextToText` load and whose processor
has a chat template works (Qwen2.5-VL, LLaVA, SmolVLM, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cosmos_curate.core.utils.device import preferred_device
from cosmos_curate.models._checkpoint import CheckpointModel
from cosmos_curate.models.llava_inputs import LlavaInputs

CAPTION_MODEL_ID = "Qwen/Qwen2.5-VL-7B-Instruct"
DEFAULT_CAPTION_PROMPT = (
    "Describe this video clip in detail: the scene, the objects and people in it, "
    "what moves and how the camera moves."
)

PreparedInputs = dict[str, npt.NDArray[Any]]


def group_by_shape(inputs: Sequence[PreparedInputs]) -> list[list[int]]:
    """Indices of inputs that can be stacked into one batch (same keys, same non-batch shapes).

    Prepared inputs of one prompt and one frame count usually have equal token counts, so a
    batch of clips mostly forms a single group; anything else is generated separately.
    """
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, item in enumerate(inputs):
        shapes = tuple(sorted((name, tuple(arr.shape[1:])) for name, arr in item.items()))
        key = (*shapes, int(item["input_ids"].shape[-1]))
        groups.setdefault(key, []).append(i)
    return list(groups.values())


class VLMInputPreparer(CheckpointModel):
    """The VLM's processor alone: frames and a prompt in, model inputs out (CPU only)."""

    def __init__(self, model_id: str = CAPTION_MODEL_ID, weights_root: Path | None = None) -> None:
        super().__init__(model_id, weights_root)
        self._processor: Any = None

    def setup(self) -> None:
        """Load the processor from the local weights folder.

        A LLaVA checkpoint that `LlavaInputs` reproduces runs without importing torch or
        transformers (~6.5 CPU s per process); any other uses transformers' processor.
        """
        folder = self.weights_folder()
        self._processor = LlavaInputs.from_folder(folder)
        if self._processor is None:
            from transformers import AutoProcessor

            self._processor = AutoProcessor.from_pretrained(folder)  # type: ignore[no-untyped-call]

    def prepare(self, frames: Sequence[npt.NDArray[np.uint8]], prompt: str) -> PreparedInputs:
        """RGB frames of one clip and the prompt -> arrays with a leading batch dim of 1."""
        if self._processor is None:
            raise self.not_set_up()
        if isinstance(self._processor, LlavaInputs):
            return self._processor(frames, prompt)
        return processor_inputs(self._processor, frames, prompt)


def processor_inputs(
    processor: Any, frames: Sequence[npt.NDArray[np.uint8]], prompt: str
) -> PreparedInputs:
    """A transformers processor's model inputs for one clip's RGB frames and a prompt."""
    from PIL import Image

    content: list[dict[str, Any]] = [{"type": "image", "image": Image.fromarray(f)} for f in frames]
    content.append({"type": "text", "text": prompt})
    encoded = processor.apply_chat_template(
        [{"role": "user", "content": content}],
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
        return_tensors="np",
    )
    return {name: np.asarray(value) for name, value in encoded.items()}


class VLMCaptioner(CheckpointModel):
    """Greedy caption generation for batches of prepared inputs."""

    def __init__(
        self,
        model_id: str = CAPTION_MODEL_ID,
        max_new_tokens: int = 128,
        weights_root: Path | None = None,
    ) -> None:
        super().__init__(model_id, weights_root)
        self.max_new_tokens = max_new_tokens
        self._model: Any = None
        self._processor: Any = None
        self._device = "cpu"

    def setup(self) -> None:
        """Load model (bf16 on GPU, fp32 on CPU) and processor (for decoding)."""
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        folder = self.weights_folder()
        self._device = preferred_device()
        dtype = torch.bfloat16 if self._device.startswith("cuda") else torch.float32
        self._processor = AutoProcessor.from_pretrained(folder)  # type: ignore[no-untyped-call]
        self._model = AutoModelForImageTextToText.from_pretrained(folder, dtype=dtype)
        self._model.to(self._device)
        self._model.eval()

    def generate(self, inputs: Sequence[PreparedInputs]) -> list[str]:
        """One caption per prepared input, in order; same-shaped inputs share one batch."""
        import torch

        if self._model is None:
            raise self.not_set_up()
        captions: list[str] = [""] * len(inputs)
        for group in group_by_shape(inputs):
            batch = {
                name: torch.from_numpy(np.concatenate([inputs[i][name] for i in group])).to(
                    self._device
                )
                for name in inputs[group[0]]
            }
            if "pixel_values" in batch and batch["pixel_values"].is_floating_point():
                batch["pixel_values"] = batch["pixel_values"].to(self._model.dtype)
            with torch.inference_mode():
                out = self._model.generate(
                    **batch, max_new_tokens=self.max_new_tokens, do_sample=False
                )
            new_tokens = out[:, batch["input_ids"].shape[-1] :]
            texts = self._processor.batch_decode(new_tokens, skip_special_tokens=True)
            for i, text in zip(group, texts, strict=True):
                captions[i] = text.strip()
        return captions
