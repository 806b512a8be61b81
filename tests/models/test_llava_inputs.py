"""`LlavaInputs` gives exactly what transformers' LLaVA processor gives, without torch."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from tests.pipelines.image import _images
from tests.pipelines.video import _synth

from cosmos_curate.models.captioner import VLMInputPreparer, processor_inputs
from cosmos_curate.models.llava_inputs import PROCESSOR_CONFIG, LlavaInputs

# portrait, landscape, square, smaller than the crop, odd sizes
SIZES = [(96, 320), (320, 96), (17, 23), (641, 359), (31, 500)]
PROMPTS = ["describe this", "Describe  the scene, with odd   spacing.", ""]


def _decoded(width: int, height: int, seed: int) -> np.ndarray:
    """A drawn picture through a JPEG round trip, as the load stage hands it on."""
    buf = io.BytesIO()
    Image.fromarray(_images.picture(width, height, seed)).save(buf, format="JPEG", quality=90)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def _processors(folder: Path) -> dict[str, Any]:
    """What transformers' processor returns, the way `VLMInputPreparer` calls it."""
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(folder)  # type: ignore[no-untyped-call]

    def run(frames: list[np.ndarray], prompt: str) -> dict[str, np.ndarray]:
        return processor_inputs(processor, frames, prompt)

    return {"run": run}


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tests' tiny LLaVA checkpoint, saved once for this module."""
    weights = tmp_path_factory.mktemp("weights")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CURATE_WEIGHTS_DIR", str(weights))
        return _synth.save_tiny_vlm()


def test_inputs_equal_the_processors(tiny_vlm: Path) -> None:
    """Same keys, dtypes, shapes and values as the processor for real images and prompts."""
    inputs = LlavaInputs.from_folder(tiny_vlm)
    assert inputs is not None
    expected = _processors(tiny_vlm)["run"]
    for seed, (width, height) in enumerate(SIZES):
        for count in (1, 3):
            frames = [_decoded(width, height, seed * 10 + i) for i in range(count)]
            for prompt in PROMPTS:
                want, got = expected(frames, prompt), inputs(frames, prompt)
                assert list(got) == list(want)
                for name, value in want.items():
                    assert got[name].dtype == value.dtype, name
                    np.testing.assert_array_equal(got[name], value)


def test_a_prompt_with_the_image_token_is_refused_as_by_the_processor(tiny_vlm: Path) -> None:
    """A prompt whose image-token count differs from the images' raises `ValueError` in both."""
    inputs = LlavaInputs.from_folder(tiny_vlm)
    assert inputs is not None
    frames = [_decoded(40, 50, 1)]
    with pytest.raises(ValueError, match="<image>"):
        inputs(frames, "look <image> here")
    with pytest.raises(ValueError, match="<image>"):
        _processors(tiny_vlm)["run"](frames, "look <image> here")


def test_a_checkpoint_it_does_not_reproduce_goes_to_the_processor(
    tiny_vlm: Path, tmp_path: Path
) -> None:
    """An image processor `ClipPixels` does not reproduce (no centre crop): same output still."""
    folder = tmp_path / "weights" / _synth.TINY_VLM_ID
    folder.mkdir(parents=True)
    for path in tiny_vlm.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    config = json.loads((folder / PROCESSOR_CONFIG).read_text())
    config["image_processor"]["do_center_crop"] = False
    config["image_processor"]["size"] = {"height": 32, "width": 32}
    (folder / PROCESSOR_CONFIG).write_text(json.dumps(config))
    assert LlavaInputs.from_folder(folder) is None
    preparer = VLMInputPreparer(_synth.TINY_VLM_ID, weights_root=tmp_path / "weights")
    preparer.setup()
    frames = [_decoded(70, 40, 2)]
    want = _processors(folder)["run"](frames, "describe this")
    got = preparer.prepare(frames, "describe this")
    assert list(got) == list(want)
    for name, value in want.items():
        np.testing.assert_array_equal(got[name], value)


def test_caption_preparation_does_not_import_torch(tiny_vlm: Path) -> None:
    """The CPU stage's process never pays torch's import: set up and prepare in a fresh one."""
    root = str(tiny_vlm.parent.parent)
    code = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from cosmos_curate.models.captioner import VLMInputPreparer\n"
        f"pre = VLMInputPreparer({_synth.TINY_VLM_ID!r}, weights_root=Path({root!r}))\n"
        "pre.setup()\n"
        "out = pre.prepare([np.zeros((50, 70, 3), np.uint8)], 'describe this')\n"
        "print(out['pixel_values'].shape, 'torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split("\n")[0] == "(1, 3, 32, 32) False False"
