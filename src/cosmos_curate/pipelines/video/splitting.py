"""Splitting videos into clips: chunk planning, shot-boundary detection, fixed stride.

Shot detection compares each decoded frame (downscaled to `DETECT_SIZE`) with the previous
one: the score is the mean absolute RGB difference (0-255). A frame starts a new shot when
its score is at least `min_score` and at least `ratio` times the mean score of its
neighbours (`window` frames each side) — an adaptive test, so a hard cut stands out even
inside a moving scene, while steady motion (every score high) does not cut. All functions
here except the stage are pure and need no Ray.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs
import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource
from cosmos_curate.pipelines.video import decode, sources
from cosmos_curate.pipelines.video.layout import OutputLayout, clip_id_for, write_json_atomic
from cosmos_curate.pipelines.video.tasks import ChunkTask, ClipTask

DETECT_SIZE = (64, 36)
Span = tuple[int, int]


@attrs.frozen
class CutDetector:
    """Thresholds of the frame-difference shot detector."""

    min_score: float = 12.0
    ratio: float = 3.0
    window: int = 2
    min_shot_frames: int = 3


@attrs.frozen
class LengthLimits:
    """Clip length rules in seconds: drop shorter than `min_s`, split longer than `max_s`."""

    min_s: float
    max_s: float


def plan_chunks(
    num_frames: int, fps: float, chunk_len_s: float, align_frames: int = 1
) -> list[Span]:
    """Frame windows of about `chunk_len_s` covering the video (a multiple of `align_frames`).

    Each chunk is split independently, so one task never decodes more than a chunk; a chunk
    boundary is also a clip boundary, which aligning to the fixed-stride clip length hides.
    """
    size = max(1, round(chunk_len_s * fps))
    if align_frames > 1:
        size = max(align_frames, size - size % align_frames)
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


def spans_from_cuts(start: int, end: int, cuts: Iterable[int]) -> list[Span]:
    """Shots `[a, b)` between `start`, each cut, and `end`."""
    bounds = [start, *sorted(c for c in cuts if start < c < end), end]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def fit_lengths(spans: Iterable[Span], fps: float, limits: LengthLimits) -> tuple[list[Span], int]:
    """Apply length limits: long spans become equal parts <= max, short ones are dropped.

    Returns the kept spans and how many were dropped for being shorter than `min_s`.
    """
    min_frames = math.ceil(limits.min_s * fps - 1e-6)
    max_frames = max(1, math.floor(limits.max_s * fps + 1e-6))
    kept: list[Span] = []
    dropped = 0
    for a, b in spans:
        length = b - a
        if length < min_frames:
            dropped += 1
            continue
        parts = math.ceil(length / max_frames)
        bounds = [a + round(k * length / parts) for k in range(parts + 1)]
        for s, e in itertools.pairwise(bounds):
            if e - s >= min_frames:
                kept.append((s, e))
            else:
                dropped += 1
    return kept, dropped


def fixed_stride_spans(start: int, end: int, fps: float, clip_len_s: float) -> list[Span]:
    """Consecutive clips of `clip_len_s` (the last one may be shorter) over `[start, end)`."""
    step = max(1, round(clip_len_s * fps))
    return [(s, min(s + step, end)) for s in range(start, end, step)]


def detect_shots(path: Path, chunk: ChunkTask, detector: CutDetector) -> list[Span]:
    """Decode one chunk at `DETECT_SIZE` and return its shots (frame spans)."""
    width, height = DETECT_SIZE
    frames = decode.frames_as_arrays(
        path, chunk.start_frame, chunk.end_frame, width=width, height=height
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


class ClipSplitStage(CuratorStage[ChunkTask, ClipTask]):
    """Chunk -> clips, by shot detection (`shot`) or fixed stride (`fixed-stride`).

    Writes the chunk's manifest (its clip ids) so that a rerun knows when a video is done.
    """

    def __init__(
        self,
        output_path: str,
        algorithm: str,
        limits: LengthLimits,
        clip_len_s: float,
        detector: CutDetector = CutDetector(),
    ) -> None:
        if algorithm not in ("shot", "fixed-stride"):
            msg = f"unknown splitting algorithm {algorithm!r}: use 'shot' or 'fixed-stride'"
            raise ValueError(msg)
        self.layout = OutputLayout(output_path)
        self.algorithm = algorithm
        self.limits = limits
        self.clip_len_s = clip_len_s
        self.detector = detector

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        # Shot detection decodes every frame of the chunk: one core.
        return CuratorStageResource(cpus=1.0)

    def spans_for(self, chunk: ChunkTask) -> tuple[list[Span], int]:
        """The chunk's clip spans after length limits, and the count dropped as too short."""
        fps = chunk.meta.fps
        if self.algorithm == "fixed-stride":
            raw = fixed_stride_spans(chunk.start_frame, chunk.end_frame, fps, self.clip_len_s)
        else:
            raw = detect_shots(sources.local_path(chunk.source), chunk, self.detector)
        return fit_lengths(raw, fps, self.limits)

    def process_data(self, tasks: list[ChunkTask]) -> list[ClipTask] | None:
        """Process a batch; see the class docstring."""
        clips: list[ClipTask] = []
        for chunk in tasks:
            spans, dropped = self.spans_for(chunk)
            chunk_clips = [
                ClipTask(
                    source=chunk.source,
                    video_id=chunk.video_id,
                    clip_id=clip_id_for(chunk.video_id, a, b),
                    meta=chunk.meta,
                    chunk_index=chunk.index,
                    start_frame=a,
                    end_frame=b,
                )
                for a, b in spans
            ]
            write_json_atomic(
                self.layout.chunk_manifest(chunk.video_id, chunk.index),
                {
                    "video_id": chunk.video_id,
                    "index": chunk.index,
                    "num_chunks": chunk.num_chunks,
                    "start_frame": chunk.start_frame,
                    "end_frame": chunk.end_frame,
                    "clip_ids": [c.clip_id for c in chunk_clips],
                    "dropped_too_short": dropped,
                },
            )
            clips.extend(chunk_clips)
        return clips
