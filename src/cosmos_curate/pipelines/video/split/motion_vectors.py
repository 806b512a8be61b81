"""Motion scores from a decoder's motion vectors, as upstream Cosmos-Curate's motion filter.

A vector moves every pixel of its block by its displacement in pixels divided by
`width + height` (a bi-predicted block carries two vectors: it moves by their mean; a pixel
no vector covers, e.g. of an intra block, moves 0). Over the frames that carry vectors:
- `global_mean`: the mean motion of all pixels;
- `per_patch_min_256`: the mean motion of each 256x256-pixel patch (`round(side / 256)`
  patches per side, at least one; a block counts in the patch holding its centre), then the
  smallest: low when any large region of the frame is still.
The numbers are on upstream's scale, so its thresholds (`--motion-global-mean-threshold`
0.00098, `--motion-per-patch-min-256-threshold` 0.000001) apply unchanged. Work is per
vector, never per pixel: a 720p frame costs a few thousand multiply-adds. Pure numpy, no Ray.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

PATCH = 256  # pixels: upstream's patch side


@attrs.frozen
class VectorMotion:
    """The two motion-vector scores of a clip."""

    global_mean: float
    per_patch_min_256: float


def _bounds(side: int) -> npt.NDArray[np.int64]:
    """Patch edges along one side: `round(side / 256)` equal parts, at least one."""
    parts = max(1, round(side / PATCH))
    return np.array([side * i // parts for i in range(parts + 1)], dtype=np.int64)


class VectorMotionMap:
    """Accumulates frames' motion vectors into per-patch motion sums for one clip."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.cols, self.rows = _bounds(width), _bounds(height)
        self.area = np.outer(np.diff(self.rows), np.diff(self.cols)).ravel().astype(np.float64)
        self.moved = np.zeros(self.area.size, dtype=np.float64)
        self.frames = 0

    def add(self, vectors: npt.NDArray[Any]) -> None:
        """Add one frame's vectors (the structured array `decode.iter_motion_vectors` gives)."""
        self.frames += 1
        if len(vectors) == 0:
            return
        x, y = vectors["dst_x"].astype(np.int64), vectors["dst_y"].astype(np.int64)
        w, h = vectors["w"].astype(np.int64), vectors["h"].astype(np.int64)
        # Pixels of the block inside the frame (edge blocks of a padded size stick out).
        inside_w = np.clip(x + w // 2, 0, self.width) - np.clip(x - w // 2, 0, self.width)
        inside_h = np.clip(y + h // 2, 0, self.height) - np.clip(y - h // 2, 0, self.height)
        # Vectors sharing a block (its centre) split its area: it moves by their mean.
        # Centres lie on a 4-pixel grid (blocks are 8 or 16 pixels a side).
        centre = (y // 4) * (self.width // 4 + 2) + x // 4
        sharing = np.bincount(centre)[centre]
        pixels = inside_w * inside_h / sharing
        scale = np.maximum(vectors["motion_scale"].astype(np.float64), 1.0)
        shift = np.hypot(vectors["motion_x"], vectors["motion_y"]) / scale
        row = np.clip(np.searchsorted(self.rows, y, side="right") - 1, 0, len(self.rows) - 2)
        col = np.clip(np.searchsorted(self.cols, x, side="right") - 1, 0, len(self.cols) - 2)
        patch = row * (len(self.cols) - 1) + col
        motion = shift / (self.width + self.height) * pixels
        self.moved += np.bincount(patch, weights=motion, minlength=self.area.size)

    def scores(self) -> VectorMotion | None:
        """The clip's scores; None when no frame carried vectors."""
        if self.frames == 0:
            return None
        global_mean = float(self.moved.sum() / (self.area.sum() * self.frames))
        per_patch = self.moved / (self.area * self.frames)
        return VectorMotion(global_mean, float(per_patch.min()))
