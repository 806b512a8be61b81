"""Caption preparation for images (CPU), in front of the video flow's `CaptionStage` (GPU).

Each image is resized into `[min_pixels, max_pixels]` (aspect kept), prepared by the
backend's preparer (the VLM processor, or JPEG encoding for a served model) and becomes
the image's single caption window; `CaptionStage` then captions it as it captions clips.
`ImageWindowPrepStage` is that preparation for any prompt (the semantic checks use it too).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from PIL import Image

from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.interfaces.stage_interface import CuratorStageResource
from cosmos_curate.pipelines.image.image_stage import ImageStage
from cosmos_curate.pipelines.image.tasks import ImageTask
from cosmos_curate.pipelines.video.captioning import CaptionPreparer
from cosmos_curate.pipelines.video.prompts import Prompt
from cosmos_curate.pipelines.video.windows import CaptionWindow

DEFAULT_MIN_PIXELS = 128 * 28 * 28
DEFAULT_MAX_PIXELS = 768 * 28 * 28


def fit_pixels(
    rgb: npt.NDArray[np.uint8], min_pixels: int, max_pixels: int
) -> npt.NDArray[np.uint8]:
    """`rgb` scaled (aspect kept) so that width x height lies in `[min_pixels, max_pixels]`."""
    height, width = rgb.shape[:2]
    area = width * height
    if min_pixels <= area <= max_pixels:
        return rgb
    scale = math.sqrt((max_pixels if area > max_pixels else min_pixels) / area)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BICUBIC))


class ImageWindowPrepStage(ImageStage):
    """The CPU half of a VLM question about images (captions, semantic checks).

    Holds the preparer and the pixel range; subclasses call `window` with their own prompt.
    """

    def __init__(
        self, preparer: CaptionPreparer, min_pixels: int, max_pixels: int, cpus: float
    ) -> None:
        self._preparer = preparer
        self.min_pixels = min_pixels
        self.max_pixels = max_pixels
        self.cpus = cpus

    @property
    def resources(self) -> CuratorStageResource:
        """`cpus` per worker (the processor's resize and tokenisation)."""
        return CuratorStageResource(cpus=self.cpus)

    @property
    def model(self) -> ModelInterface | None:
        """The processor whose weights this stage loads (none for a served model)."""
        return self._preparer if isinstance(self._preparer, ModelInterface) else None

    def window(self, rgb: npt.NDArray[np.uint8], prompt: str) -> CaptionWindow:
        """The image, resized into the pixel range and prepared with `prompt`, as one window."""
        shown = fit_pixels(rgb, self.min_pixels, self.max_pixels)
        return CaptionWindow(0, 1, inputs=self._preparer.prepare([shown], prompt))


class ImageCaptionPrepStage(ImageWindowPrepStage):
    """Resizes and prepares each image for the captioner; frees the pixels."""

    def __init__(
        self,
        preparer: CaptionPreparer,
        prompt: Prompt,
        min_pixels: int = DEFAULT_MIN_PIXELS,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        cpus: float = 0.5,
    ) -> None:
        super().__init__(preparer, min_pixels, max_pixels, cpus)
        self.prompt = prompt

    def process_image(self, task: ImageTask, rgb: npt.NDArray[np.uint8]) -> None:
        """Process one live image; see the class docstring."""
        task.windows = [self.window(rgb, self.prompt.text)]
        task.rgb = None
        task.annotations.update(
            caption_prompt_variant=self.prompt.name, caption_prompt=self.prompt.text
        )
