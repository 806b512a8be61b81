"""Clip spans from detected shots or fixed windows, and the length rules applied to them.

A span is a half-open frame range `[start, end)` of the source video. The rules follow
upstream Cosmos-Curate's TransNetV2 splitting: shots longer than the maximum are cut into
`max` pieces (`stride`; a last piece shorter than the minimum is dropped) or cut back to
the maximum (`truncate`); then `crop` frames are taken off both ends; then spans shorter
than the minimum are dropped. Every span removed is counted as dropped. Pure functions.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Iterable, Sequence

import attrs
import numpy as np
import numpy.typing as npt

Span = tuple[int, int]


class MaxLengthMode(enum.StrEnum):
    """What happens to a shot longer than the maximum clip length."""

    STRIDE = "stride"
    TRUNCATE = "truncate"


@attrs.frozen
class LengthRules:
    """Clip length rules: minimum (seconds and frames), maximum, its mode, crop at both ends."""

    min_s: float = 2.0
    max_s: float = 60.0
    min_frames: int = 0
    max_mode: MaxLengthMode = MaxLengthMode.STRIDE
    crop_s: float = 0.0

    def min_length(self, fps: float) -> int:
        """Minimum clip length in frames at `fps` (the larger of the two minimums)."""
        return max(math.ceil(self.min_s * fps - 1e-6), self.min_frames)

    def max_length(self, fps: float) -> int:
        """Maximum clip length in frames at `fps` (at least one frame)."""
        return max(1, math.floor(self.max_s * fps + 1e-6))

    def crop_length(self, fps: float) -> int:
        """Frames cropped from each end of a shot at `fps`."""
        return int(self.crop_s * fps + 1e-6)


@attrs.frozen
class SpanResult:
    """Kept spans, and how many candidate spans were dropped as too short."""

    spans: list[Span]
    dropped: int


def spans_from_cuts(start: int, end: int, cuts: Iterable[int]) -> list[Span]:
    """Shots `[a, b)` between `start`, each cut (first frame of a new shot), and `end`."""
    bounds = [start, *sorted(c for c in cuts if start < c < end), end]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def spans_from_transitions(transition: npt.NDArray[np.bool_], offset: int = 0) -> list[Span]:
    """Shots from per-frame transition flags (TransNetV2 above its threshold).

    A run of flagged frames is a transition. A run of one frame marks a hard cut right
    after it: the frame stays in the shot before. The frames of a longer run (a fade or
    dissolve) belong to no shot. No flag at all: the whole range is one shot.
    """
    n = len(transition)
    shots: list[Span] = []
    start = 0
    i = 0
    while i < n:
        if not transition[i]:
            i += 1
            continue
        run_end = i
        while run_end + 1 < n and transition[run_end + 1]:
            run_end += 1
        shot_end = i + 1 if run_end == i else i
        if shot_end > start:
            shots.append((start, shot_end))
        start = run_end + 1
        i = run_end + 1
    if start < n:
        shots.append((start, n))
    return [(a + offset, b + offset) for a, b in shots]


def _cap(span: Span, max_len: int, min_len: int, mode: MaxLengthMode) -> tuple[list[Span], int]:
    a, b = span
    if b - a <= max_len:
        return [span], 0
    if mode is MaxLengthMode.TRUNCATE:
        return [(a, a + max_len)], 0
    pieces = [(s, min(s + max_len, b)) for s in range(a, b, max_len)]
    if pieces[-1][1] - pieces[-1][0] < min_len:
        return pieces[:-1], 1
    return pieces, 0


def apply_length_rules(spans: Sequence[Span], fps: float, rules: LengthRules) -> SpanResult:
    """Cap long spans, crop both ends, drop short ones; counts every span removed."""
    min_len, max_len = rules.min_length(fps), rules.max_length(fps)
    crop = rules.crop_length(fps)
    kept: list[Span] = []
    dropped = 0
    for span in spans:
        pieces, lost = _cap(span, max_len, min_len, rules.max_mode)
        dropped += lost
        for a, b in pieces:
            cropped = (a + crop, b - crop)
            length = cropped[1] - cropped[0]
            if length <= 0 or length < min_len:
                dropped += 1
            else:
                kept.append(cropped)
    return SpanResult(kept, dropped)


def fixed_stride_spans(
    start: int, end: int, fps: float, clip_len_s: float, stride_s: float | None = None
) -> list[Span]:
    """Windows of `clip_len_s` starting every `stride_s` (default: back to back).

    A stride shorter than the length overlaps windows, a longer one leaves gaps. The last
    window may be shorter than `clip_len_s` (the length rules decide whether it stays).
    """
    length = max(1, round(clip_len_s * fps))
    step = max(1, round((stride_s if stride_s is not None else clip_len_s) * fps))
    return [(s, min(s + length, end)) for s in range(start, end, step)]


def fixed_stride_result(spans: Sequence[Span], fps: float, min_s: float) -> SpanResult:
    """Fixed-stride windows shorter than `min_s` dropped (and counted)."""
    min_len = math.ceil(min_s * fps - 1e-6)
    kept = [(a, b) for a, b in spans if b - a >= max(1, min_len)]
    return SpanResult(kept, len(spans) - len(kept))


def limit_spans(result: SpanResult, limit: int | None) -> SpanResult:
    """At most `limit` spans (the earliest); the rest are not clips and not counted."""
    if limit is None or len(result.spans) <= limit:
        return result
    return SpanResult(sorted(result.spans)[:limit], result.dropped)
