"""GPT2 keeps upstream Cosmos-Curate's API: `GPT2(max_output_len=64)`, `generate(str) -> str`."""

from __future__ import annotations

from pathlib import Path

import pytest

from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name
from cosmos_curate.models.gpt2 import GPT2, GPT2_MODEL_ID
from cosmos_curate.models.tiny_random_gpt2 import save_tiny_gpt2


@pytest.fixture
def gpt2(isolated_dirs: Path) -> GPT2:
    save_tiny_gpt2(get_local_dir_for_weights_name(GPT2_MODEL_ID))
    model = GPT2(max_output_len=12)
    model.setup()
    return model


def test_string_prompt_gives_one_string_bounded_by_max_output_len(gpt2: GPT2) -> None:
    """A str in, a str out (not one completion per character), at most 12 tokens in all."""
    text = gpt2.generate("once upon a time")
    assert isinstance(text, str)
    assert text.startswith("once upon a time")
    assert len(gpt2._tokenizer(text)["input_ids"]) <= 12


def test_list_of_prompts_gives_a_list_in_order(gpt2: GPT2) -> None:
    texts = gpt2.generate(["the key", "video clips"])
    assert [t.split()[0] for t in texts] == ["the", "video"]


def test_max_new_tokens_bounds_only_the_continuation(isolated_dirs: Path) -> None:
    save_tiny_gpt2(get_local_dir_for_weights_name(GPT2_MODEL_ID))
    model = GPT2(max_output_len=4, max_new_tokens=6)
    model.setup()
    prompt = "once upon a time there was a curious robot"
    n_prompt = len(model._tokenizer(prompt)["input_ids"])
    n_out = len(model._tokenizer(model.generate(prompt))["input_ids"])
    assert n_prompt < n_out <= n_prompt + 6


def test_bad_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="max_output_len"):
        GPT2(max_output_len=0)
