"""`ClipStage`: the per-clip stages work on live clips only, and pass every clip on.

No Ray and no video: a clip that is skipped carries bytes no decoder could read, so a stage
that did not skip it would raise.
"""

from __future__ import annotations

import pickle

import pytest

from cosmos_curate.pipelines.video.captioning import CaptionPrepStage
from cosmos_curate.pipelines.video.clip_stage import ClipStage
from cosmos_curate.pipelines.video.embedding import VideoEmbedPrepStage
from cosmos_curate.pipelines.video.frames import FrameExtractionStage
from cosmos_curate.pipelines.video.previews import PreviewStage
from cosmos_curate.pipelines.video.split.motion import MotionFilterStage, MotionThresholds
from cosmos_curate.pipelines.video.split.semantic_stages import SemanticPrepStage
from cosmos_curate.pipelines.video.split.stages import (
    ChunkSplitStage,
    ClipSplitStage,
    TransNetV2SplitStage,
)
from cosmos_curate.pipelines.video.split.text_filter import ArtificialTextFilterStage
from cosmos_curate.pipelines.video.tasks import ClipTask, VideoMeta

META = VideoMeta(duration_s=2.0, fps=25.0, width=160, height=90, codec="h264", num_frames=50)


def _clip(clip_id: str, encoded: bytes | None = b"not an mp4") -> ClipTask:
    return ClipTask(
        source="/nowhere.mp4", video_id="v", clip_id=clip_id, meta=META, chunk_index=0,
        start_frame=0, end_frame=50, encoded=encoded,
    )  # fmt: skip


class _Seen(ClipStage):
    """Records which clips reached `process_clip`, and with which bytes."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bytes]] = []

    def process_clip(self, task: ClipTask, encoded: bytes) -> None:
        self.seen.append((task.clip_id, encoded))
        task.annotations["seen"] = True


def test_only_live_clips_reach_process_clip_and_every_clip_goes_on() -> None:
    """A dropped clip and one without encoded video are passed on untouched, in order."""
    live, dropped, empty = _clip("live", b"mp4"), _clip("dropped"), _clip("empty", None)
    dropped.drop("aesthetic", "too dull")
    stage = _Seen()
    out = stage.process_data([live, dropped, empty])
    assert out == [live, dropped, empty]
    assert stage.seen == [("live", b"mp4")]
    assert "seen" not in dropped.annotations and "seen" not in empty.annotations
    assert dropped.filtered_by == "aesthetic"


def test_the_motion_filter_leaves_dropped_and_unencoded_clips_alone() -> None:
    """A real filter on the base: no score, no second drop, no decode of what it skips."""
    dropped, empty = _clip("dropped"), _clip("empty", None)
    dropped.drop("artificial_text", "overlay text")
    out = MotionFilterStage(MotionThresholds()).process_data([dropped, empty])
    assert out == [dropped, empty]
    assert dropped.filtered_by == "artificial_text" and dropped.motion_method is None
    assert empty.filtered_by is None and empty.motion_method is None


@pytest.mark.parametrize(
    "stage",
    [
        CaptionPrepStage,
        SemanticPrepStage,
        ArtificialTextFilterStage,
        MotionFilterStage,
        PreviewStage,
        FrameExtractionStage,
        VideoEmbedPrepStage,
    ],
)
def test_per_clip_stages_write_only_process_clip(stage: type[ClipStage]) -> None:
    """Each per-clip stage keeps the base's walk (and its skip rule) instead of its own."""
    assert issubclass(stage, ClipStage)
    assert "process_data" not in vars(stage)


@pytest.mark.parametrize("stage", [ClipSplitStage, TransNetV2SplitStage])
def test_splitters_write_only_spans_for(stage: type[ChunkSplitStage]) -> None:
    """Both splitters emit clips and manifests the one way `ChunkSplitStage` does."""
    assert issubclass(stage, ChunkSplitStage)
    assert "process_data" not in vars(stage)


def test_a_clip_stage_survives_the_trip_to_a_worker() -> None:
    """Stages are pickled to every Ray worker: the abstract base must not get in the way."""
    stage = pickle.loads(pickle.dumps(MotionFilterStage(MotionThresholds(), drop=False)))
    assert isinstance(stage, ClipStage) and stage.drop is False
