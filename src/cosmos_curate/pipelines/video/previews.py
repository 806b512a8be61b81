"""Previews: an animated WebP per caption window (1 fps, 240 px high by default).

Written under `OUT/previews/<clip_id>/<start_frame>_<end_frame>.webp` before the writer
stores the clip's metadata, whose `windows[].preview_path` names them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.stage_interface import CuratorStageResource
from cosmos_curate.pipelines.video.captioning import WindowConfig, ensure_windows
from cosmos_curate.pipelines.video.clip_frames import (
    decode_frames,
    size_for_height,
    window_sample_indices,
)
from cosmos_curate.pipelines.video.clip_stage import ClipStage
from cosmos_curate.pipelines.video.layout import OutputLayout
from cosmos_curate.pipelines.video.tasks import ClipTask


def preview_key(clip_id: str, start_frame: int, end_frame: int) -> str:
    """Where a window's preview is stored, relative to the output root."""
    return f"previews/{clip_id}/{start_frame:07d}_{end_frame:07d}.webp"


def animated_webp(frames: Sequence[npt.NDArray[np.uint8]], fps: float, quality: int = 50) -> bytes:
    """RGB frames as a looping animated WebP shown at `fps`."""
    from PIL import Image

    images = [Image.fromarray(f) for f in frames]
    out = io.BytesIO()
    images[0].save(
        out,
        format="WEBP",
        save_all=True,
        append_images=images[1:],
        duration=round(1000 / fps),
        loop=0,
        quality=quality,
    )
    return out.getvalue()


class PreviewStage(ClipStage):
    """Writes one animated WebP per caption window of each clip."""

    def __init__(
        self,
        layout: OutputLayout,
        windows: WindowConfig,
        target_fps: float = 1.0,
        target_height: int = 240,
    ) -> None:
        self.layout = layout
        self.windows = windows
        self.target_fps = target_fps
        self.target_height = target_height

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        return CuratorStageResource(cpus=0.5)

    def process_clip(self, task: ClipTask, encoded: bytes) -> None:
        """Process one live clip; see the class docstring."""
        windows = ensure_windows(task, self.windows)
        picks = [
            window_sample_indices((w.start_frame, w.end_frame), task.meta.fps, self.target_fps)
            for w in windows
        ]
        width, height = size_for_height(
            task.width or task.meta.width, task.height or task.meta.height, self.target_height
        )
        frames = decode_frames(encoded, {i for p in picks for i in p}, width, height)
        for window, picked in zip(windows, picks, strict=True):
            key = preview_key(task.clip_id, window.start_frame, window.end_frame)
            data = animated_webp([frames[i] for i in picked], self.target_fps)
            self.layout.write_bytes(key, data)
            window.preview_path = key
