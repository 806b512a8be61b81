"""Caption enhancement: a text model rewrites each caption (Qwen2.5 LM by default).

Any checkpoint that `AutoTokenizer` and `AutoModelForCausalLM` load works. With a chat
template the instruction and the caption go in one user turn; without one (GPT-2-style
models) they are plain text. Inputs longer than the model's context keep their end.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cosmos_curate.core.utils.device import preferred_device
from cosmos_curate.models._checkpoint import CheckpointModel

ENHANCE_MODEL_ID = "Qwen/Qwen2.5-14B-Instruct"


class CaptionEnhancer(CheckpointModel):
    """Greedy rewrite of captions in batches."""

    def __init__(
        self,
        model_id: str = ENHANCE_MODEL_ID,
        max_new_tokens: int = 512,
        weights_root: Path | None = None,
    ) -> None:
        super().__init__(model_id, weights_root)
        self.max_new_tokens = max_new_tokens
        self._model: Any = None
        self._tokenizer: Any = None
        self._device = "cpu"

    def setup(self) -> None:
        """Load tokenizer and model (bf16 on GPU, fp32 on CPU)."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder = self.weights_folder()
        self._device = preferred_device()
        dtype = torch.bfloat16 if self._device.startswith("cuda") else torch.float32
        self._tokenizer = AutoTokenizer.from_pretrained(folder)
        self._tokenizer.padding_side = "left"  # decoder-only: generation continues on the right
        self._tokenizer.truncation_side = "left"
        if self._tokenizer.pad_token is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        self._model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
        self._model.to(self._device)
        self._model.eval()

    def _input_text(self, instruction: str, caption: str) -> str:
        message = f"{instruction}\n\n{caption}"
        if getattr(self._tokenizer, "chat_template", None):
            return str(
                self._tokenizer.apply_chat_template(
                    [{"role": "user", "content": message}],
                    add_generation_prompt=True,
                    tokenize=False,
                )
            )
        return f"{message}\n\n"

    def _max_input_tokens(self) -> int | None:
        config = self._model.config
        context = getattr(config, "max_position_embeddings", None) or getattr(
            config, "n_positions", None
        )
        if context is None:
            return None
        return max(1, int(context) - self.max_new_tokens)

    def enhance(self, captions: Sequence[str], instruction: str) -> list[str]:
        """The rewritten captions, in order (one forward batch)."""
        import torch

        if self._model is None:
            raise self.not_set_up()
        if not captions:
            return []
        texts = [self._input_text(instruction, c) for c in captions]
        limit = self._max_input_tokens()
        encoded = self._tokenizer(
            texts,
            return_tensors="pt",
            padding=True,
            truncation=limit is not None,
            max_length=limit,
        ).to(self._device)
        with torch.inference_mode():
            out = self._model.generate(
                **encoded,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                pad_token_id=self._tokenizer.pad_token_id,
            )
        new_tokens = out[:, encoded["input_ids"].shape[-1] :]
        decoded = self._tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        return [text.strip() for text in decoded]
