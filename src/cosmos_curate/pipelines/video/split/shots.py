"""Chunk planning and the frame-difference shot detector (`--splitting-algorithm shot`).

Shot detection compares each decoded frame (downscaled to `DETECT_SIZE`) with the previous
one: the score is the mean absolute RGB difference (0-255). A frame starts a new shot when
its score is at least `min_score` and at least `ratio` times the mean score of its
neighbours (`window` frames each side) — an adaptive test, so a hard cut stands out even
inside a moving scene, while steady motion (every score high) does not cut. It is the fast
CPU choice; TransNetV2 (`transnetv2.py`) is the default. Pure functions, no Ray.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs
import numpy as np
import numpy.typing as npt

from cosmos_curate.pipelines.video import decode
from cosmos_curate.pipelines.video.split.spans import Span, spans_from_cuts
from cosmos_curate.pipelines.video.tasks import ChunkTask

DETECT_SIZE = (64, 36)


@attrs.frozen
class CutDetector:
    """Thresholds of the frame-difference shot detector."""

    min_score: float = 12.0
    ratio: float = 3.0
    window: int = 2
    min_shot_frames: int = 3


def plan_chunks(num_frames: int, fps: float, chunk_len_s: float | None) -> list[Span]:
    """Frame windows of about `chunk_len_s` covering the video (None: one window).

    Each chunk is decoded for detection by one task, so no task holds a whole film; a chunk
    boundary is also a clip boundary.
    """
    if chunk_len_s is None:
        return [(0, num_frames)]
    size = max(1, round(chunk_len_s * fps))
    return [(s, min(s + size, num_frames)) for s in range(0, num_frames, size)]


def frame_difference(prev: npt.NDArray[np.uint8], cur: npt.NDArray[np.uint8]) -> float:
    """Mean absolute difference of two equally sized frames, 0-255."""
    return float(np.abs(cur.astype(np.int16) - prev.astype(np.int16)).mean())


def difference_scores(frames: Iterable[npt.NDArray[np.uint8]]) -> list[float]:
    """`scores[i]` = difference between frames i-1 and i (`scores[0] = 0`); keeps one frame."""
    scores: list[float] = []
    prev: npt.NDArray[np.uint8] | None = None
    for frame in frames:
        scores.append(0.0 if prev is None else frame_difference(prev, frame))
        prev = frame
    return scores


def detect_cuts(scores: Sequence[float], detector: CutDetector = CutDetector()) -> list[int]:
    """Indices of frames that start a new shot (never 0), from `difference_scores` output."""
    cuts: list[int] = []
    last = 0
    n = len(scores)
    for i in range(1, n):
        score = scores[i]
        if score < detector.min_score or i - last < detector.min_shot_frames:
            continue
        neighbours = [
            scores[j]
            for j in range(max(1, i - detector.window), min(n, i + detector.window + 1))
            if j != i
        ]
        baseline = sum(neighbours) / len(neighbours) if neighbours else 0.0
        if score >= detector.ratio * baseline:
            cuts.append(i)
            last = i
    return cuts


def detect_shots(path: Path, chunk: ChunkTask, detector: CutDetector) -> list[Span]:
    """Decode one chunk at `DETECT_SIZE` and return its shots (frame spans)."""
    width, height = DETECT_SIZE
    frames = decode.frames_as_arrays(
        path, chunk.start_frame, chunk.end_frame, width=width, height=height, analysis=True
    )
    first: int | None = None
    last = chunk.start_frame

    def tracked() -> Iterable[npt.NDArray[np.uint8]]:
        nonlocal first, last
        for index, array in frames:
            first = index if first is None else first
            last = index
            yield array

    scores = difference_scores(tracked())
    if first is None:
        return []
    cuts = [first + i for i in detect_cuts(scores, detector)]
    return spans_from_cuts(first, last + 1, cuts)
