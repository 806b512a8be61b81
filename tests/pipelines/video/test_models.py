"""The model wrappers with tiny random-init weights in the weights layout (no Ray)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.pipelines.video import _synth

from cosmos_curate.models.aesthetics import (
    AESTHETIC_MODEL_ID,
    AestheticWeightsError,
    ClipAesthetics,
    build_linear_stack,
)
from cosmos_curate.models.captioner import VLMCaptioner, VLMInputPreparer, group_by_shape
from cosmos_curate.models.clip import CLIP_MODEL_ID, ClipImagePreprocessor


def _frames(n: int) -> np.ndarray:
    return np.stack(list(_synth.moving_square((200, 30, 30), n)))


def test_clip_embeddings_are_unit_norm_and_scored(isolated_dirs: Path) -> None:
    """Preprocess on CPU, then embed: (N, 16) unit vectors and one aesthetic score each."""
    _synth.save_tiny_clip(CLIP_MODEL_ID)
    _synth.save_tiny_aesthetic_head(AESTHETIC_MODEL_ID)
    pre = ClipImagePreprocessor()
    pre.setup()
    pixels = pre.preprocess(_frames(3))
    assert pixels.shape == (3, 3, 32, 32)
    model = ClipAesthetics()
    model.setup()
    embeddings, scores = model.embed_and_score(pixels)
    assert embeddings.shape == (3, 16)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    assert scores.shape == (3,) and np.all(np.abs(scores - 5.0) < 1.0)
    assert model.model_id_names == [CLIP_MODEL_ID, AESTHETIC_MODEL_ID]


def test_pinned_weights_root_wins_over_the_environment(tmp_path: Path) -> None:
    """A wrapper given a weights root loads from it even when CURATE_WEIGHTS_DIR says otherwise."""
    _synth.save_tiny_clip(CLIP_MODEL_ID)  # into the test's CURATE_WEIGHTS_DIR
    pre = ClipImagePreprocessor(weights_root=tmp_path / "elsewhere")
    with pytest.raises(OSError):
        pre.setup()


def test_linear_stack_must_chain() -> None:
    """Layers whose sizes do not chain are rejected with a clear error."""
    import torch

    state = {
        "layers.0.weight": torch.zeros(4, 8),
        "layers.0.bias": torch.zeros(4),
        "layers.2.weight": torch.zeros(1, 5),
        "layers.2.bias": torch.zeros(1),
    }
    with pytest.raises(AestheticWeightsError, match="do not chain"):
        build_linear_stack(state)
    with pytest.raises(AestheticWeightsError):
        build_linear_stack({})


def test_vlm_prepares_on_cpu_and_captions_in_batches(isolated_dirs: Path) -> None:
    """Prepared inputs of equal shape share a batch; every clip gets a non-empty caption."""
    _synth.save_tiny_vlm()
    prep = VLMInputPreparer(_synth.TINY_VLM_ID)
    prep.setup()
    three = prep.prepare(list(_frames(3)), "describe this clip")
    two = prep.prepare(list(_frames(2)), "describe this clip")
    assert three["pixel_values"].shape[0] == 3 and three["input_ids"].shape[0] == 1
    assert group_by_shape([three, two, three]) == [[0, 2], [1]]
    captioner = VLMCaptioner(_synth.TINY_VLM_ID, max_new_tokens=4)
    captioner.setup()
    captions = captioner.generate([three, two, three])
    assert len(captions) == 3 and all(captions)
    assert captions[0] == captions[2]  # greedy: same input, same caption, batched or not
