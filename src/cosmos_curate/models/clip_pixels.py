"""CLIP's image preprocessing in numpy + Pillow, read from the checkpoint's processor config.

transformers' image processors import torch (~5 CPU s per process), which a CPU stage that
only resizes and normalises does not need. `ClipPixels.from_folder` reads
`preprocessor_config.json` (the processor stays the source of truth for every parameter)
and returns `None` for a config it does not reproduce exactly, so the caller falls back to
the processor. The steps and their dtypes are those of transformers' Pillow backend:
shortest edge resized with Pillow, centre crop, `uint8 -> float64 * rescale -> float32`,
`(x - mean) / std` in float32, channels first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
from PIL import Image

CONFIG_NAME = "preprocessor_config.json"
_PROCESSOR_TYPES = frozenset({"CLIPImageProcessor", "CLIPImageProcessorPil"})
# every key this reproduces; a config with any other key falls back to the processor
_KNOWN_KEYS = frozenset(
    {
        "crop_size",
        "do_center_crop",
        "do_convert_rgb",
        "do_normalize",
        "do_rescale",
        "do_resize",
        "image_mean",
        "image_std",
        "image_processor_type",
        "processor_class",
        "resample",
        "rescale_factor",
        "size",
        "feature_extractor_type",
    }
)


@attrs.frozen
class ClipPixels:
    """The CLIP image processor's resize, crop and normalisation, without torch."""

    shortest_edge: int
    crop: tuple[int, int]  # (height, width)
    resample: Image.Resampling
    rescale: float
    mean: npt.NDArray[np.float32]
    std: npt.NDArray[np.float32]

    @classmethod
    def from_folder(cls, folder: Path) -> ClipPixels | None:
        """The steps of `folder`'s processor config; `None` where this cannot match it.

        Raises `OSError` when the folder has no processor config.
        """
        config = json.loads((folder / CONFIG_NAME).read_text())
        return cls.from_config(config)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ClipPixels | None:
        """See `from_folder`."""
        size, crop = config.get("size"), config.get("crop_size")
        flags = ("do_resize", "do_center_crop", "do_rescale", "do_normalize")
        if (
            config.get("image_processor_type") not in _PROCESSOR_TYPES
            or set(config) - _KNOWN_KEYS
            or not all(config.get(flag) is True for flag in flags)
            or not isinstance(size, dict)
            or set(size) != {"shortest_edge"}
            or not isinstance(crop, dict)
            or set(crop) != {"height", "width"}
            # a crop larger than the resized image pads in the processor: not reproduced
            or max(crop["height"], crop["width"]) > size["shortest_edge"]
        ):
            return None
        return cls(
            shortest_edge=int(size["shortest_edge"]),
            crop=(int(crop["height"]), int(crop["width"])),
            resample=Image.Resampling(config.get("resample", Image.Resampling.BICUBIC)),
            rescale=float(config["rescale_factor"]),
            mean=np.asarray(config["image_mean"], dtype=np.float32),
            std=np.asarray(config["image_std"], dtype=np.float32),
        )

    def __call__(self, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """One `(H, W, 3)` uint8 RGB image -> `(3, crop_h, crop_w)` float32 model input."""
        height, width = rgb.shape[:2]
        short, long = (width, height) if width <= height else (height, width)
        new_long = int(self.shortest_edge * long / short)
        new_w, new_h = (
            (self.shortest_edge, new_long) if width <= height else (new_long, self.shortest_edge)
        )
        resized = np.asarray(Image.fromarray(rgb).resize((new_w, new_h), resample=self.resample))
        top, left = (new_h - self.crop[0]) // 2, (new_w - self.crop[1]) // 2
        cropped = resized[top : top + self.crop[0], left : left + self.crop[1]]
        scaled = (cropped.astype(np.float64) * self.rescale).astype(np.float32)
        normalised: npt.NDArray[np.float32] = (scaled - self.mean) / self.std
        return np.ascontiguousarray(normalised.transpose(2, 0, 1))

    def batch(self, frames: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """`(T, H, W, 3)` uint8 frames -> `(T, 3, crop_h, crop_w)` float32."""
        return np.stack([self(frame) for frame in frames])
