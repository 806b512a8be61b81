"""Motion scores from a decoder's motion vectors, as upstream Cosmos-Curate's motion filter.

Each frame's vectors are painted onto a grid of `CELL`-pixel cells (a cell a block does not
cover, e.g. an intra block, moves 0), as the displacement in pixels divided by
`width + height`. Averaging the cells over the frames gives a per-cell motion map:
- `global_mean`: the mean of the map;
- `per_patch_min_256`: the map averaged over 256x256-pixel patches (`round(side / 256)`
  patches per side, at least one), then the smallest patch: low when any large region of
  the frame is still.
The numbers are on upstream's scale, so its thresholds (`--motion-global-mean-threshold`
0.00098, `--motion-per-patch-min-256-threshold` 0.000001) apply unchanged. Pure numpy, no Ray.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

CELL = 4  # pixels: the smallest block H.264 and MPEG-4 predict
PATCH = 256  # pixels: upstream's patch side


@attrs.frozen
class VectorMotion:
    """The two motion-vector scores of a clip."""

    global_mean: float
    per_patch_min_256: float


class VectorMotionMap:
    """Accumulates frames' motion vectors into the per-cell motion map of one clip."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.rows, self.cols = -(-height // CELL), -(-width // CELL)
        self.total = np.zeros(self.rows * self.cols, dtype=np.float64)
        self.frames = 0

    def add(self, vectors: npt.NDArray[Any]) -> None:
        """Add one frame's vectors (the structured array `decode.iter_motion_vectors` gives)."""
        self.frames += 1
        if len(vectors) == 0:
            return
        scale = np.maximum(vectors["motion_scale"].astype(np.float64), 1.0)
        shift = np.hypot(vectors["motion_x"], vectors["motion_y"]) / scale
        magnitude = shift / (self.width + self.height)
        cells, owner = self._covered_cells(vectors)
        size = self.rows * self.cols
        # A bi-predicted block carries two vectors: a cell moves by their mean.
        moved = np.bincount(cells, weights=magnitude[owner], minlength=size)
        counts = np.bincount(cells, minlength=size)
        self.total += np.divide(moved, counts, out=np.zeros(size), where=counts > 0)

    def _covered_cells(
        self, vectors: npt.NDArray[Any]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Flat indices of the cells each block covers, and the vector each belongs to."""
        w = np.maximum(vectors["w"].astype(np.intp) // CELL, 1)
        h = np.maximum(vectors["h"].astype(np.intp) // CELL, 1)
        left = (vectors["dst_x"].astype(np.intp) - vectors["w"].astype(np.intp) // 2) // CELL
        top = (vectors["dst_y"].astype(np.intp) - vectors["h"].astype(np.intp) // 2) // CELL
        per_block = w * h
        owner = np.repeat(np.arange(len(vectors)), per_block)
        # Position of each covered cell inside its block, row-major.
        starts = np.cumsum(per_block) - per_block
        within = np.arange(int(per_block.sum())) - np.repeat(starts, per_block)
        row = np.clip(top[owner] + within // w[owner], 0, self.rows - 1)
        col = np.clip(left[owner] + within % w[owner], 0, self.cols - 1)
        return row * self.cols + col, owner

    def scores(self) -> VectorMotion | None:
        """The clip's scores; None when no frame carried vectors."""
        if self.frames == 0:
            return None
        motion = (self.total / self.frames).reshape(self.rows, self.cols)
        across = max(1, round(self.width / PATCH))
        down = max(1, round(self.height / PATCH))
        patches = [
            float(block.mean())
            for band in np.array_split(motion, down, axis=0)
            for block in np.array_split(band, across, axis=1)
        ]
        return VectorMotion(float(motion.mean()), min(patches))
