"""GPT-2 text generation through transformers (the guide's example model)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.utils import model_utils
from cosmos_curate.core.utils.device import preferred_device

GPT2_MODEL_ID = "openai-community/gpt2"


class GPT2(ModelInterface):
    """GPT-2 language model; weights from `get_local_dir_for_weights_name(model id)`.

    Upstream Cosmos-Curate's API: `GPT2(max_output_len=64)` bounds the whole text (prompt
    included) and `generate(prompt) -> str`. `max_new_tokens` bounds only the continuation
    instead; `generate` also takes a list of prompts and returns a list.
    """

    def __init__(self, max_output_len: int = 64, *, max_new_tokens: int | None = None) -> None:
        if max_output_len < 1 or (max_new_tokens is not None and max_new_tokens < 1):
            msg = "GPT2 needs max_output_len >= 1 and max_new_tokens >= 1 (or None)"
            raise ValueError(msg)
        self.max_output_len = max_output_len
        self.max_new_tokens = max_new_tokens
        self._tokenizer: Any = None
        self._model: Any = None
        self._device = "cpu"

    @property
    def conda_env_name(self) -> str:
        """GPT-2 runs in the `transformers` env."""
        return "transformers"

    @property
    def model_id_names(self) -> list[str]:
        """The one Hugging Face id whose weights are loaded."""
        return [GPT2_MODEL_ID]

    def setup(self) -> None:
        """Load tokenizer and weights from the local weights folder; move to the device."""
        from transformers import AutoTokenizer, GPT2LMHeadModel

        model_dir = model_utils.get_local_dir_for_weights_name(self.model_id_names[0])
        self._device = preferred_device()
        self._tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self._model = GPT2LMHeadModel.from_pretrained(model_dir)
        self._model.to(self._device)
        self._model.eval()

    @overload
    def generate(self, prompt: str) -> str: ...  # type: ignore[overload-overlap]

    @overload
    def generate(self, prompt: Sequence[str]) -> list[str]: ...

    def generate(self, prompt: str | Sequence[str]) -> str | list[str]:
        """Greedy continuation of a prompt (the prompt included); a list gives a list."""
        if isinstance(prompt, str):
            return self._complete(prompt)
        return [self._complete(p) for p in prompt]

    def _complete(self, prompt: str) -> str:
        import torch

        if self._model is None:
            msg = "GPT2.setup() must run before generate()"
            raise RuntimeError(msg)
        length = (
            {"max_new_tokens": self.max_new_tokens}
            if self.max_new_tokens is not None
            else {"max_length": self.max_output_len}
        )
        with torch.inference_mode():
            encoded = self._tokenizer(prompt, return_tensors="pt").to(self._device)
            generated = self._model.generate(
                **encoded, **length, do_sample=False, pad_token_id=self._tokenizer.eos_token_id
            )
        return str(self._tokenizer.decode(generated[0], skip_special_tokens=True))
