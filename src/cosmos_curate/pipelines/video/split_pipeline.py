"""The `video-split` pipeline: raw videos in, short clean described clips out.

Stages (each its own worker pool, CPU work kept out of the GPU stages):
ingest -> split (shots or fixed stride) -> transcode (H.264) -> motion filter ->
frame extraction + CLIP preprocessing -> CLIP embedding + aesthetics (0.25 GPU) ->
caption preparation (CPU) -> captioning (VLM, GPU) -> writer.
"""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import pydantic

from cosmos_curate.core.interfaces.pipeline_interface import PipelineResult, execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageSpec
from cosmos_curate.core.utils import settings
from cosmos_curate.models.aesthetics import AESTHETIC_MODEL_ID, ClipAesthetics
from cosmos_curate.models.captioner import (
    CAPTION_MODEL_ID,
    DEFAULT_CAPTION_PROMPT,
    VLMCaptioner,
    VLMInputPreparer,
)
from cosmos_curate.models.clip import CLIP_MODEL_ID, ClipImagePreprocessor
from cosmos_curate.pipelines.registry import RunOptions, register_pipeline
from cosmos_curate.pipelines.video import sources
from cosmos_curate.pipelines.video.captioning import CaptionPrepStage, CaptionStage
from cosmos_curate.pipelines.video.embedding import ClipEmbeddingStage
from cosmos_curate.pipelines.video.frames import FrameExtractionStage
from cosmos_curate.pipelines.video.ingest import VideoIngestStage
from cosmos_curate.pipelines.video.layout import OutputLayout, write_json_atomic
from cosmos_curate.pipelines.video.motion import MotionFilterStage
from cosmos_curate.pipelines.video.splitting import ClipSplitStage, CutDetector, LengthLimits
from cosmos_curate.pipelines.video.summary import build_summary
from cosmos_curate.pipelines.video.tasks import VideoTask
from cosmos_curate.pipelines.video.transcode import TranscodeStage
from cosmos_curate.pipelines.video.writer import ClipWriterStage


class SplittingAlgorithm(enum.StrEnum):
    """How videos are cut into clips."""

    SHOT = "shot"
    FIXED_STRIDE = "fixed-stride"


class VideoSplitOptions(pydantic.BaseModel):
    """Options of `curate pipeline run video-split`."""

    model_config = pydantic.ConfigDict(extra="forbid")

    input_path: str = pydantic.Field(description="folder or s3://bucket/prefix of videos")
    output_path: str = pydantic.Field(description="folder for clips, metadata and summary")
    splitting_algorithm: SplittingAlgorithm = pydantic.Field(
        default=SplittingAlgorithm.SHOT, description="shot | fixed-stride"
    )
    clip_len_s: float = pydantic.Field(default=10.0, gt=0, description="fixed-stride clip length")
    min_clip_len_s: float = pydantic.Field(default=2.0, ge=0, description="drop shorter clips")
    max_clip_len_s: float = pydantic.Field(default=60.0, gt=0, description="split longer shots")
    chunk_len_s: float = pydantic.Field(
        default=300.0, gt=0, description="video window one split task decodes"
    )
    shot_threshold: float = pydantic.Field(
        default=12.0, ge=0, description="min mean frame difference (0-255) of a cut"
    )
    motion_threshold: float = pydantic.Field(
        default=0.5, ge=0, description="drop clips whose motion score is below (0: keep all)"
    )
    aesthetic_threshold: float | None = pydantic.Field(
        default=None, description="drop clips whose aesthetic score is below (unset: keep all)"
    )
    extract_fps: float = pydantic.Field(default=2.0, gt=0, description="frames per second sampled")
    target_resolution: int | None = pydantic.Field(
        default=None, ge=16, description="output clip height in pixels (unset: source height)"
    )
    skip_captions: bool = pydantic.Field(default=False, description="do not caption clips")
    caption_prompt: str = pydantic.Field(default=DEFAULT_CAPTION_PROMPT, description="VLM prompt")
    caption_frames: int = pydantic.Field(default=4, ge=1, description="frames shown to the VLM")
    caption_max_tokens: int = pydantic.Field(default=128, ge=1, description="caption length cap")
    caption_batch_size: int = pydantic.Field(default=8, ge=1, description="clips per VLM batch")
    caption_gpus: float = pydantic.Field(default=0.75, gt=0, description="GPUs per caption worker")
    clip_model_id: str = pydantic.Field(default=CLIP_MODEL_ID, description="CLIP checkpoint")
    aesthetic_model_id: str = pydantic.Field(
        default=AESTHETIC_MODEL_ID, description="aesthetic head checkpoint"
    )
    caption_model_id: str = pydantic.Field(default=CAPTION_MODEL_ID, description="VLM checkpoint")
    limit: int | None = pydantic.Field(default=None, ge=1, description="process at most N videos")
    workers_per_stage: int | None = pydantic.Field(
        default=None, ge=1, description="fixed workers per stage (unset: autoscale)"
    )

    @pydantic.model_validator(mode="after")
    def _lengths_ordered(self) -> VideoSplitOptions:
        if self.min_clip_len_s > self.max_clip_len_s:
            msg = "min_clip_len_s must not exceed max_clip_len_s"
            raise ValueError(msg)
        return self


def build_stages(options: VideoSplitOptions) -> list[CuratorStage[Any, Any] | CuratorStageSpec]:
    """The pipeline's stages for these options."""
    fixed = options.splitting_algorithm is SplittingAlgorithm.FIXED_STRIDE
    limits = LengthLimits(options.min_clip_len_s, options.max_clip_len_s)
    models = {"embedding": options.clip_model_id, "aesthetic": options.aesthetic_model_id}
    # Workers load from the root the driver's weights check validated (see models/_weights.py).
    root = settings.weights_root()
    if not options.skip_captions:
        models["caption"] = options.caption_model_id
    stages: list[CuratorStage[Any, Any]] = [
        VideoIngestStage(
            options.output_path, options.chunk_len_s, options.clip_len_s if fixed else None
        ),
        ClipSplitStage(
            options.output_path,
            options.splitting_algorithm.value,
            limits,
            options.clip_len_s,
            CutDetector(min_score=options.shot_threshold),
        ),
        TranscodeStage(options.target_resolution),
        MotionFilterStage(options.motion_threshold),
        FrameExtractionStage(
            options.extract_fps,
            ClipImagePreprocessor(options.clip_model_id, root),
            keep_frames=not options.skip_captions,
        ),
        ClipEmbeddingStage(
            ClipAesthetics(options.clip_model_id, options.aesthetic_model_id, root),
            options.aesthetic_threshold,
        ),
    ]
    if not options.skip_captions:
        stages += [
            CaptionPrepStage(
                VLMInputPreparer(options.caption_model_id, root),
                options.caption_prompt,
                options.caption_frames,
            ),
            CaptionStage(
                VLMCaptioner(options.caption_model_id, options.caption_max_tokens, root),
                gpus=options.caption_gpus,
                batch_size=options.caption_batch_size,
            ),
        ]
    stages.append(ClipWriterStage(options.output_path, models))
    if options.workers_per_stage is not None:
        return [CuratorStageSpec(s, num_workers=options.workers_per_stage) for s in stages]
    return list(stages)


@attrs.define
class _InputPlan:
    """The videos of this run, discovered lazily; counts are final once iterated."""

    options: VideoSplitOptions
    layout: OutputLayout
    found: int = 0
    skipped: int = 0
    video_ids: list[str] = attrs.field(factory=list)

    def __iter__(self) -> Iterator[VideoTask]:
        for source, name in sources.list_videos(self.options.input_path):
            if self.options.limit is not None and len(self.video_ids) >= self.options.limit:
                return
            self.found += 1
            video_id = sources.video_id_for(name)
            if self.layout.video_done(video_id):
                self.skipped += 1
                continue
            self.video_ids.append(video_id)
            yield VideoTask(source=source, video_id=video_id)


@register_pipeline(
    "video-split", VideoSplitOptions, "split, transcode, filter, embed, caption and write clips"
)
def run_video_split(options: VideoSplitOptions, run: RunOptions) -> PipelineResult:
    """Run the pipeline; writes clips and `summary.json` under `options.output_path`."""
    return split_videos(options, **run.as_kwargs())


def split_videos(options: VideoSplitOptions, **run_kwargs: Any) -> PipelineResult:
    """Library entry point: `run_kwargs` go to `execute_pipeline` (Ray address, ...).

    Failure records go to `OUT/failures/<run id>.jsonl` unless `failures_path` is given.
    """
    layout = OutputLayout(options.output_path)
    layout.root.mkdir(parents=True, exist_ok=True)
    plan = _InputPlan(options, layout)
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
    if run_kwargs.get("failures_path") is None:
        run_kwargs["failures_path"] = str(layout.failures_file(run_id))
    run_kwargs["collect_outputs"] = False  # the summary is built from the files on disk
    started = time.monotonic()
    result = execute_pipeline(plan, build_stages(options), **run_kwargs)
    wall_s = time.monotonic() - started
    summary = build_summary(
        layout,
        video_ids=plan.video_ids,
        videos_found=plan.found,
        videos_skipped=plan.skipped,
        failures_path=result.failures_path,
        wall_s=wall_s,
    )
    summary["run_id"] = run_id
    summary["options"] = options.model_dump(mode="json")
    write_json_atomic(layout.summary, summary)
    return result
