"""Frames of an encoded clip for the caption, embedding and preview stages (CPU)."""

from __future__ import annotations

import io
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from cosmos_curate.pipelines.video import decode
from cosmos_curate.pipelines.video.frames import sample_indices


def window_sample_indices(
    window: tuple[int, int], fps: float, sampling_fps: float, max_frames: int | None = None
) -> list[int]:
    """Clip frame indices sampled at `sampling_fps` from a window's start (at least one).

    With `max_frames`, at most that many, spread evenly over the sampled ones.
    """
    start, end = window
    picked = [start + i for i in sample_indices(end - start, fps, sampling_fps)]
    if max_frames is not None and len(picked) > max_frames:
        picked = [picked[int((k + 0.5) * len(picked) / max_frames)] for k in range(max_frames)]
    return picked


def decode_frames(
    encoded: bytes, indices: Iterable[int], width: int, height: int
) -> dict[int, npt.NDArray[np.uint8]]:
    """The wanted frames of an encoded clip as RGB arrays of `width`x`height`, by index."""
    wanted = set(indices)
    if not wanted:
        return {}
    last = max(wanted)
    found: dict[int, npt.NDArray[np.uint8]] = {}
    for index, frame in decode.iter_frames(io.BytesIO(encoded), 0, last + 1, fmt="yuv420p"):
        if index in wanted:
            found[index] = frame.to_ndarray(width=width, height=height, format="rgb24")
    missing = wanted - set(found)
    if missing and found:
        # Variable frame timing can leave a wanted index undecoded: use the nearest frame.
        have = sorted(found)
        for index in missing:
            found[index] = found[min(have, key=lambda h: abs(h - index))]
    if not found:
        msg = "no frame of the clip could be decoded"
        raise decode.UnreadableVideoError(msg)
    return found


def size_for_height(width: int, height: int, target_height: int) -> tuple[int, int]:
    """`(width, height)` scaled to `target_height` keeping the aspect ratio (even width)."""
    new_width = max(2, round(width * target_height / max(1, height)))
    return new_width - new_width % 2, target_height
