"""Buckets of clips by resolution, aspect ratio and duration (upstream's shard bins).

- resolution: the shorter side at least 1080 -> `1080`, at least 720 -> `720`, else `0`;
- aspect ratio: the nearest of 9:16, 3:4, 1:1, 4:3, 16:9, with the bin edges halfway
  between neighbours (0.65, 0.88, 1.16, 1.55 as upstream), widths above 10x height excluded;
- duration: [5, 10), [10, 30), [30, inf) seconds; shorter clips fit no bucket.
All three lists are options. A bucket's folder is
`resolution_<r>/aspect_ratio_<w>_<h>/duration_<lo>_<hi>`; a still image (no duration) is
bucketed by the first two only: `resolution_<r>/aspect_ratio_<w>_<h>`.
"""

from __future__ import annotations

import itertools

import attrs

MAX_W_BY_H = 10.0


def _num(value: float) -> str:
    return f"{value:g}"


def parse_ratio(text: str) -> tuple[int, int]:
    """`"16:9"` -> `(16, 9)`; raises ValueError for anything else."""
    w, sep, h = text.partition(":")
    if not sep or not w.strip().isdigit() or not h.strip().isdigit() or int(h) == 0 or int(w) == 0:
        msg = f"aspect ratio {text!r} is not W:H (e.g. 16:9)"
        raise ValueError(msg)
    return int(w), int(h)


@attrs.frozen
class BucketSpec:
    """The bucket lists; `bucket_of` files a clip or says which list it missed."""

    resolutions: tuple[int, ...] = (1080, 720)
    aspect_ratios: tuple[tuple[int, int], ...] = ((9, 16), (3, 4), (1, 1), (4, 3), (16, 9))
    durations_s: tuple[float, ...] = (5.0, 10.0, 30.0)

    def __attrs_post_init__(self) -> None:
        if not self.aspect_ratios or not self.durations_s:
            msg = "give at least one aspect ratio and one duration edge"
            raise ValueError(msg)
        if list(self.durations_s) != sorted(set(self.durations_s)) or self.durations_s[0] < 0:
            msg = f"duration edges {list(self.durations_s)} must be increasing and >= 0"
            raise ValueError(msg)

    def _resolution(self, width: int, height: int) -> str:
        short = min(width, height)
        for res in sorted(self.resolutions, reverse=True):
            if short >= res:
                return str(res)
        return "0"

    def _aspect(self, width: int, height: int) -> tuple[int, int] | None:
        ratio = width / height
        if ratio > MAX_W_BY_H:
            return None
        ordered = sorted(self.aspect_ratios, key=lambda r: r[0] / r[1])
        for (w0, h0), (w1, h1) in itertools.pairwise(ordered):
            if ratio <= (w0 / h0 + w1 / h1) / 2:
                return w0, h0
        return ordered[-1]

    def _duration(self, seconds: float) -> str | None:
        edges = self.durations_s
        if seconds < edges[0]:
            return None
        for lo, hi in itertools.pairwise(edges):
            if seconds < hi:
                return f"{_num(lo)}_{_num(hi)}"
        return f"{_num(edges[-1])}_inf"

    def bucket_of(
        self, width: int, height: int, duration_s: float | None
    ) -> tuple[str | None, str]:
        """`(bucket folder, "")`, or `(None, reason)` with reason `size`, `aspect` or `duration`.

        `duration_s` None (a still image): no duration level.
        """
        if width <= 0 or height <= 0:
            return None, "size"
        aspect = self._aspect(width, height)
        if aspect is None:
            return None, "aspect"
        shape = f"resolution_{self._resolution(width, height)}/aspect_ratio_{aspect[0]}_{aspect[1]}"
        if duration_s is None:
            return shape, ""
        duration = self._duration(duration_s)
        if duration is None:
            return None, "duration"
        return f"{shape}/duration_{duration}", ""
