"""Caption windows: long clips are captioned per window of frames, as in Cosmos-Curate.

A clip of `N` frames is cut into windows of `window_size` frames; a remainder of at least
`remainder_threshold` frames becomes a window of its own, a shorter one is added to the last
window. A clip no longer than `window_size` is one window. Frame numbers are relative to the
clip (0 = its first frame) and `end_frame` is exclusive, like the clip's span.
"""

from __future__ import annotations

from typing import Any

import attrs


@attrs.define
class CaptionWindow:
    """Frames `[start_frame, end_frame)` of a clip and what the caption stages add to them."""

    start_frame: int
    end_frame: int
    caption: str | None = None
    enhanced_caption: str | None = None
    preview_path: str | None = None
    # Model inputs between the preparation and the caption stage (prepared arrays, or
    # JPEG bytes for a served model); dropped once captioned.
    inputs: Any = attrs.field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (the clip metadata's `windows` entries)."""
        data: dict[str, Any] = {
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "caption": self.caption,
        }
        if self.enhanced_caption is not None:
            data["enhanced_caption"] = self.enhanced_caption
        if self.preview_path is not None:
            data["preview_path"] = self.preview_path
        return data


def compute_windows(
    total_frames: int, window_size: int, remainder_threshold: int
) -> list[tuple[int, int]]:
    """`[start, end)` frame windows covering `range(total_frames)` (empty for no frames)."""
    if total_frames <= 0:
        return []
    if window_size <= 0:
        msg = f"window_size must be positive, got {window_size}"
        raise ValueError(msg)
    if total_frames <= window_size:
        return [(0, total_frames)]
    full, remainder = divmod(total_frames, window_size)
    windows = [(i * window_size, (i + 1) * window_size) for i in range(full)]
    if remainder >= remainder_threshold:
        windows.append((total_frames - remainder, total_frames))
    elif remainder > 0:
        windows[-1] = (windows[-1][0], total_frames)
    return windows
