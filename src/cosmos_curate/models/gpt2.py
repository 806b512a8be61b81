"""GPT-2 text generation through transformers (the guide's example model)."""

from __future__ import annotations

from typing import Any

from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.utils import model_utils
from cosmos_curate.core.utils.device import preferred_device

GPT2_MODEL_ID = "openai-community/gpt2"


class GPT2(ModelInterface):
    """GPT-2 language model; weights from `get_local_dir_for_weights_name(model id)`."""

    def __init__(self, max_new_tokens: int = 20) -> None:
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

    def generate(self, prompts: list[str]) -> list[str]:
        """Greedy continuation of each prompt (the prompt included)."""
        import torch

        if self._model is None:
            msg = "GPT2.setup() must run before generate()"
            raise RuntimeError(msg)
        outputs = []
        with torch.inference_mode():
            for prompt in prompts:
                encoded = self._tokenizer(prompt, return_tensors="pt").to(self._device)
                generated = self._model.generate(
                    **encoded,
                    max_new_tokens=self.max_new_tokens,
                    do_sample=False,
                    pad_token_id=self._tokenizer.eos_token_id,
                )
                outputs.append(self._tokenizer.decode(generated[0], skip_special_tokens=True))
        return outputs
