"""`ClipPixels` gives exactly what transformers' CLIP image processor gives, without torch."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from tests.pipelines.image import _images
from tests.pipelines.video import _synth
from tests.support import fresh_python

from cosmos_curate.models.clip import CLIP_MODEL_ID, ClipImagePreprocessor
from cosmos_curate.models.clip_pixels import ClipPixels

# portrait, landscape, square, smaller than the crop, odd sizes
SIZES = [(96, 320), (320, 96), (224, 224), (17, 23), (641, 359), (300, 301), (31, 500)]


def _decoded(width: int, height: int, seed: int) -> np.ndarray:
    """A drawn picture through a JPEG round trip, as the load stage hands it on."""
    buf = io.BytesIO()
    Image.fromarray(_images.picture(width, height, seed)).save(buf, format="JPEG", quality=90)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


@pytest.mark.parametrize(
    "params",
    [
        {},  # the processor's defaults: openai/clip-vit-large-patch14's 224 px
        {"size": {"shortest_edge": 32}, "crop_size": {"height": 32, "width": 32}},
        {"size": {"shortest_edge": 40}, "crop_size": {"height": 32, "width": 24}, "resample": 2},
    ],
)
def test_pixels_equal_the_processors(tmp_path: Path, params: dict[str, Any]) -> None:
    """Bit-equal float32 model inputs to the processor's for real (JPEG-decoded) images."""
    from transformers import AutoImageProcessor, CLIPImageProcessor

    CLIPImageProcessor(**params).save_pretrained(tmp_path)
    processor = AutoImageProcessor.from_pretrained(tmp_path)  # type: ignore[no-untyped-call]
    pixels = ClipPixels.from_folder(tmp_path)
    assert pixels is not None
    for seed, (width, height) in enumerate(SIZES):
        rgb = _decoded(width, height, seed)
        expected = np.asarray(
            processor(images=[rgb], return_tensors="np")["pixel_values"], dtype=np.float32
        )
        got = pixels.batch(rgb[None])
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, expected)


def test_a_config_it_does_not_reproduce_goes_to_the_processor(tmp_path: Path) -> None:
    """A crop larger than the resize (the processor pads) is not reproduced: same output still."""
    from transformers import CLIPImageProcessor

    CLIPImageProcessor(
        size={"shortest_edge": 24}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(tmp_path / CLIP_MODEL_ID)
    assert ClipPixels.from_folder(tmp_path / CLIP_MODEL_ID) is None
    pre = ClipImagePreprocessor(weights_root=tmp_path)
    pre.setup()
    assert pre.preprocess(_decoded(50, 40, 1)[None]).shape == (1, 3, 32, 32)


def test_clip_preparation_does_not_import_torch(isolated_dirs: Path) -> None:
    """The CPU stage's process never pays torch's import: set up and preprocess in a fresh one."""
    _synth.save_tiny_clip(CLIP_MODEL_ID)
    code = (
        "import sys, numpy as np\n"
        "from cosmos_curate.models.clip import ClipImagePreprocessor\n"
        "pre = ClipImagePreprocessor(); pre.setup()\n"
        "out = pre.preprocess(np.zeros((2, 50, 70, 3), np.uint8))\n"
        "print(out.shape, 'torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    done = fresh_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "(2, 3, 32, 32) False False"
