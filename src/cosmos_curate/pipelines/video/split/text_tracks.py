"""Is a clip's text overlaid? Text boxes on sampled frames in, a verdict out (pure, no Ray).

The rules are upstream Cosmos-Curate's artificial-text heuristics (its option names and
defaults), written here from their description:
- *stable text*: boxes on consecutive sampled frames are linked into a track when their IoU
  is at least `TextRules.match_iou` (a track ends after `max_gap_samples` sampled frames
  without its box). A track is overlay text when it lasts at least
  `max(1, min_duration_frames // frame_interval)` sampled frames and the mean IoU of its
  consecutive boxes is at least `stability_iou` (subtitles, tickers and logos sit still;
  text in the scene moves with the camera).
- *corner text* (unless `corner_detection` is off): more than `corner_ratio` of the sampled
  frames hold a box centred in a corner zone (`corner_x_margin` x `corner_y_margin` of the
  frame), e.g. a channel logo. Upstream divides by the frames holding any text; here by all
  sampled frames, so one stray box on an otherwise text-free clip does not drop it.
- `ignore_corner_region` drops corner boxes before both rules.
Boxes covering more than `MAX_BOX_SHARE` of the frame are not text: the detector answers a
flat, text-free frame with one box over all of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels
MAX_BOX_SHARE = 0.5


@attrs.frozen
class TextRules:
    """When text on a clip's frames counts as overlaid (defaults: upstream's)."""

    frame_interval: int = 3
    min_duration_frames: int = 10
    stability_iou: float = 0.9
    corner_detection: bool = True
    corner_ratio: float = 0.1
    ignore_corner_region: bool = False
    corner_x_margin: float = 0.1
    corner_y_margin: float = 0.1
    match_iou: float = 0.9
    max_gap_samples: int = 5

    @property
    def min_track_samples(self) -> int:
        """Sampled frames a stable track needs."""
        return max(1, self.min_duration_frames // self.frame_interval)


@attrs.frozen
class TextSegment:
    """Overlay text found in a clip: `stable` (one track) or `corner` (frames with corner text)."""

    kind: str
    start_frame: int
    end_frame: int
    frames: int
    stability_iou: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (frame numbers relative to the clip)."""
        return attrs.asdict(self)


@attrs.frozen
class TextVerdict:
    """The decision on one clip: overlay text or not, where, and why in words."""

    has_text: bool
    segments: tuple[TextSegment, ...]
    frames_sampled: int
    frames_with_text: int
    reason: str | None


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when either is empty)."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def in_corner(box: Box, width: int, height: int, rules: TextRules) -> bool:
    """Whether the box's centre lies in one of the four corner zones."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    mx, my = rules.corner_x_margin * width, rules.corner_y_margin * height
    near_x = cx <= mx or cx >= width - mx
    near_y = cy <= my or cy >= height - my
    return near_x and near_y


@attrs.define
class _Track:
    boxes: list[Box]
    frames: list[int]
    last_sample: int

    def stability(self) -> float:
        if len(self.boxes) < 2:
            return 1.0
        pairs = zip(self.boxes, self.boxes[1:], strict=False)
        return sum(iou(a, b) for a, b in pairs) / (len(self.boxes) - 1)


def _tracks(samples: Sequence[tuple[int, Sequence[Box]]], rules: TextRules) -> list[_Track]:
    """Every track of boxes over the sampled frames (greedy first match, as upstream)."""
    open_tracks: list[_Track] = []
    closed: list[_Track] = []
    for position, (frame, boxes) in enumerate(samples):
        still_open: list[_Track] = []
        for track in open_tracks:
            gone = position - track.last_sample > rules.max_gap_samples
            (closed if gone else still_open).append(track)
        open_tracks = still_open
        for box in boxes:
            match = next((t for t in open_tracks if iou(box, t.boxes[-1]) >= rules.match_iou), None)
            if match is None:
                open_tracks.append(_Track([box], [frame], position))
            else:
                match.boxes.append(box)
                match.frames.append(frame)
                match.last_sample = position
    return closed + open_tracks


def judge_text(
    samples: Sequence[tuple[int, Sequence[Box]]], width: int, height: int, rules: TextRules
) -> TextVerdict:
    """The verdict for a clip from `(frame index, text boxes)` of its sampled frames, in order."""
    largest = MAX_BOX_SHARE * width * height
    samples = [
        (frame, [b for b in boxes if (b[2] - b[0]) * (b[3] - b[1]) <= largest])
        for frame, boxes in samples
    ]
    if rules.ignore_corner_region:
        samples = [
            (frame, [b for b in boxes if not in_corner(b, width, height, rules)])
            for frame, boxes in samples
        ]
    segments = [
        TextSegment("stable", t.frames[0], t.frames[-1], len(t.frames), round(t.stability(), 3))
        for t in _tracks(samples, rules)
        if len(t.frames) >= rules.min_track_samples and t.stability() >= rules.stability_iou
    ]
    reasons = []
    if segments:
        best = max(segments, key=lambda s: s.frames)
        reasons.append(
            f"stable text on {best.frames} of {len(samples)} sampled frames "
            f"(box IoU {best.stability_iou:.2f} >= {rules.stability_iou:g})"
        )
    if rules.corner_detection and samples:
        corner = [
            f for f, boxes in samples if any(in_corner(b, width, height, rules) for b in boxes)
        ]
        if len(corner) / len(samples) > rules.corner_ratio:
            segments.append(TextSegment("corner", corner[0], corner[-1], len(corner)))
            share = len(corner) / len(samples)
            reasons.append(
                f"corner text on {len(corner)} of {len(samples)} sampled frames "
                f"({share:.0%} > {rules.corner_ratio:.0%})"
            )
    return TextVerdict(
        has_text=bool(segments),
        segments=tuple(segments),
        frames_sampled=len(samples),
        frames_with_text=sum(1 for _, boxes in samples if boxes),
        reason="; ".join(reasons) or None,
    )
