"""The tasks that flow through the video-split pipeline.

`VideoTask` (one input file) -> `ChunkTask` (a window of it, so no task holds a whole
film) -> `ClipTask` (one clip, filled in stage by stage). Heavy payloads (encoded bytes,
frames, model inputs) are kept out of `repr` so failure records stay readable.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.stage_interface import PipelineTask
from cosmos_curate.pipelines.video.windows import CaptionWindow


@attrs.frozen
class VideoMeta:
    """What ingest reads from a container with PyAV."""

    duration_s: float
    fps: float
    width: int
    height: int
    codec: str
    num_frames: int
    bit_rate: int | None = None
    pix_fmt: str | None = None
    audio_codec: str | None = None
    rotation: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return attrs.asdict(self)


@attrs.define
class VideoTask(PipelineTask):
    """One input video: `source` is a local path or an `s3://bucket/key` URL."""

    source: str
    video_id: str
    meta: VideoMeta | None = None


@attrs.define
class ChunkTask(PipelineTask):
    """Frames `[start_frame, end_frame)` of a video, split into clips by one worker."""

    source: str
    video_id: str
    meta: VideoMeta
    index: int
    num_chunks: int
    start_frame: int
    end_frame: int
    # 48x27 RGB frames of the chunk for TransNetV2, set by the decode stage, freed after.
    frames: npt.NDArray[np.uint8] | None = attrs.field(default=None, repr=False)


@attrs.define
class ClipTask(PipelineTask):
    """One clip: frames `[start_frame, end_frame)` of its source, and what stages add."""

    source: str
    video_id: str
    clip_id: str
    meta: VideoMeta
    chunk_index: int
    start_frame: int
    end_frame: int
    # Set by a filter: the name of the filter that dropped the clip. Filtered clips still
    # flow to the writer (without payloads) so that it records them and the summary counts
    # them, and so that a video is known to be finished.
    filtered_by: str | None = None
    filter_reason: str | None = None
    width: int | None = None
    height: int | None = None
    num_frames: int | None = None
    # What the transcode produced: codecs and the output frame rate.
    video_codec: str | None = None
    audio_codec: str | None = None
    out_fps: float | None = None
    # The motion filter's scores: from the decoder's motion vectors (`motion_global_mean`,
    # `motion_per_patch_min_256`) or, for a codec without them, the luma difference
    # (`motion_score`); `motion_method` says which.
    motion_score: float | None = None
    motion_global_mean: float | None = None
    motion_per_patch_min_256: float | None = None
    motion_method: str | None = None
    aesthetic_score: float | None = None
    caption: str | None = None
    encoded: bytes | None = attrs.field(default=None, repr=False)
    frames: npt.NDArray[np.uint8] | None = attrs.field(default=None, repr=False)
    frame_times_s: list[float] = attrs.field(factory=list, repr=False)
    embedding_inputs: npt.NDArray[np.float32] | None = attrs.field(default=None, repr=False)
    embedding: npt.NDArray[np.float32] | None = attrs.field(default=None, repr=False)
    caption_inputs: dict[str, npt.NDArray[Any]] | None = attrs.field(default=None, repr=False)
    # Caption windows (see windows.py) and JSON-ready fields the embedding/caption stages add
    # to the clip metadata (models, prompts, previews); the writer merges both in.
    windows: list[CaptionWindow] = attrs.field(factory=list)
    # The semantic checks' own windows (VLM filter, classifier: `semantic_stages.py`), by
    # check, between their preparation and model stages.
    check_windows: dict[str, list[CaptionWindow]] = attrs.field(factory=dict, repr=False)
    annotations: dict[str, Any] = attrs.field(factory=dict)

    @property
    def start_s(self) -> float:
        """Clip start in the source, seconds."""
        return self.start_frame / self.meta.fps

    @property
    def end_s(self) -> float:
        """Clip end in the source, seconds (exclusive)."""
        return self.end_frame / self.meta.fps

    @property
    def duration_s(self) -> float:
        """Clip length, seconds."""
        return (self.end_frame - self.start_frame) / self.meta.fps

    def drop(self, filter_name: str, reason: str | None = None) -> None:
        """Mark the clip as dropped by `filter_name` (why, in `reason`) and free its payloads.

        The encoded clip is kept: the writer stores it under `filtered_clips/` so that a
        user can see what a filter threw away.
        """
        self.filtered_by = filter_name
        self.filter_reason = reason
        self.frames = None
        self.embedding_inputs = None
        self.caption_inputs = None
        self.windows.clear()
        self.check_windows.clear()

    def release_payloads(self) -> None:
        """Free every heavy field (after the writer, or when filtered)."""
        self.encoded = None
        self.frames = None
        self.embedding_inputs = None
        self.caption_inputs = None
        for window in self.windows:
            window.inputs = None
        self.check_windows.clear()
