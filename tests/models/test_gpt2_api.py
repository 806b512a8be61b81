"""GPT2 keeps upstream Cosmos-Curate's API: `GPT2(max_output_len=64)`, `generate(str) -> str`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name
from cosmos_curate.models.gpt2 import GPT2, GPT2_MODEL_ID
from cosmos_curate.models.tiny_random_gpt2 import save_tiny_gpt2


def _save_seeded_tiny_gpt2() -> None:
    """Random weights, but the same ones every run: greedy output is then repeatable."""
    import torch

    torch.manual_seed(0)
    save_tiny_gpt2(get_local_dir_for_weights_name(GPT2_MODEL_ID))


@pytest.fixture
def gpt2(isolated_dirs: Path) -> GPT2:
    _save_seeded_tiny_gpt2()
    model = GPT2(max_output_len=12)
    model.setup()
    return model


def _record_lengths(model: GPT2) -> list[tuple[int, int]]:
    """(prompt tokens, output tokens) of each generation the real model runs."""
    seen: list[tuple[int, int]] = []
    generate = model._model.generate

    def recording(**kwargs: Any) -> Any:
        out = generate(**kwargs)
        seen.append((kwargs["input_ids"].shape[1], out.shape[1]))
        return out

    model._model.generate = recording
    return seen


def test_string_prompt_gives_one_string_bounded_by_max_output_len(gpt2: GPT2) -> None:
    """A str in, a str out (not one completion per character), at most 12 tokens in all."""
    lengths = _record_lengths(gpt2)
    text = gpt2.generate("once upon a time")
    assert isinstance(text, str)
    assert text.startswith("once upon a time")
    assert len(lengths) == 1  # one generation for the whole string
    prompt, total = lengths[0]
    assert prompt < total <= 12


def test_list_of_prompts_gives_a_list_in_order(gpt2: GPT2) -> None:
    texts = gpt2.generate(["the key", "video clips"])
    assert [t.split()[0] for t in texts] == ["the", "video"]


def test_max_new_tokens_bounds_only_the_continuation(isolated_dirs: Path) -> None:
    _save_seeded_tiny_gpt2()
    model = GPT2(max_output_len=4, max_new_tokens=6)
    model.setup()
    lengths = _record_lengths(model)
    model.generate("once upon a time there was a curious robot")
    ((prompt, total),) = lengths
    assert prompt > 4  # longer than max_output_len, which max_new_tokens overrides
    assert prompt < total <= prompt + 6


def test_bad_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="max_output_len"):
        GPT2(max_output_len=0)
