"""The `video-split` pipeline: raw videos in, short clean described clips out.

Stages (each its own worker pool, CPU work kept out of the GPU stages):
ingest -> split (TransNetV2 frames + model, shots, fixed stride or whole video) ->
transcode (video + audio) -> motion filter (when enabled) -> on-screen text filter ->
frame extraction + CLIP preprocessing -> CLIP embedding + aesthetics (0.25 GPU) ->
[VLM semantic filter -> video classifier] (`filter_builders.py`, when enabled) ->
[video-model preparation (CPU) -> video embedding (GPU)] ->
caption windows + preparation (CPU) -> [previews] -> captioning (VLM on GPU, or a served
model) -> [caption enhancement] -> writer -> per-video embedding table
(see `annotation_stages.py` for which of these the options select).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, ClassVar

import attrs
import pydantic

from cosmos_curate.core.interfaces.pipeline_interface import PipelineResult, execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageSpec
from cosmos_curate.core.runtime.journal import DoneSet, read_done
from cosmos_curate.core.utils import settings
from cosmos_curate.models.aesthetics import AESTHETIC_MODEL_ID
from cosmos_curate.models.clip import CLIP_MODEL_ID
from cosmos_curate.models.transnetv2 import TRANSNETV2_MODEL_ID
from cosmos_curate.pipelines.registry import RunOptions, register_pipeline
from cosmos_curate.pipelines.run_setup import bind_run
from cosmos_curate.pipelines.sketch import PipelineSketch, describe_files
from cosmos_curate.pipelines.video import sources
from cosmos_curate.pipelines.video.annotation_options import CaptionOptions, EmbeddingOptions
from cosmos_curate.pipelines.video.annotation_stages import (
    ClipScoring,
    annotation_models,
    build_caption_stages,
    build_embedding_stages,
    build_table_stages,
    window_config,
)
from cosmos_curate.pipelines.video.embedding import AestheticReduction
from cosmos_curate.pipelines.video.embedding_table import ensure_table
from cosmos_curate.pipelines.video.layout import OutputLayout
from cosmos_curate.pipelines.video.split.builders import (
    SplittingAlgorithm,
    SplitTranscodeOptions,
    split_transcode_stages,
)
from cosmos_curate.pipelines.video.split.filter_builders import (
    build_semantic_stages,
    build_text_filter_stages,
    filter_models,
)
from cosmos_curate.pipelines.video.split.semantic_options import SemanticOptions
from cosmos_curate.pipelines.video.split.text_filter_options import TextFilterOptions
from cosmos_curate.pipelines.video.split.writer import ClipWriterStage
from cosmos_curate.pipelines.video.summary import (
    build_summary,
    prepare_output,
    publish_run_files,
)
from cosmos_curate.pipelines.video.tasks import VideoTask

__all__ = ["SplittingAlgorithm", "VideoSplitOptions", "build_stages", "split_videos"]


class VideoSplitOptions(
    SplitTranscodeOptions, EmbeddingOptions, CaptionOptions, TextFilterOptions, SemanticOptions
):
    """Options of `curate pipeline run video-split`.

    Splitting ones live in `builders`, embedding and caption ones in `annotation_options`,
    the content filters' in `text_filter_options` and `semantic_options`.
    """

    # `curate pipeline run video-split --help` groups the options (longest name prefix wins).
    option_panels: ClassVar[tuple[tuple[str, tuple[str, ...]], ...]] = (
        ("Input and output", ("input_path", "output_path", "s3_", "input_s3", "output_s3",
                              "limit")),
        ("Splitting", ("splitting_", "transnetv2_", "shot_", "min_clip", "max_clip", "max_length",
                       "crop_", "clip_len", "clip_stride", "limit_clips", "chunk_len")),
        ("Transcoding", ("transcode_", "target_resolution")),
        ("Filters", ("motion_", "aesthetic_threshold", "aesthetic_reduction", "artificial_text_",
                     "no_artificial_text", "ignore_artificial_text", "vlm_filter",
                     "video_classifier")),
        ("Embeddings", ("no_embeddings", "embedding_", "extract_fps", "clip_model_id",
                        "aesthetic_model_id")),
        ("Captions", ("skip_captions", "caption", "openai_", "enhance_captions")),
        ("Previews", ("generate_previews", "preview_")),
        ("Workers", ("workers_per_stage",)),
    )  # fmt: skip

    aesthetic_threshold: float | None = pydantic.Field(
        default=None, description="drop clips whose aesthetic score is below (unset: keep all)"
    )
    aesthetic_reduction: AestheticReduction = pydantic.Field(
        default=AestheticReduction.MIN,
        description=(
            "how frames' aesthetic scores make the clip's: min | mean. Default changed to min "
            "(was: mean), as upstream"
        ),
    )
    extract_fps: float = pydantic.Field(default=2.0, gt=0, description="frames per second sampled")
    clip_model_id: str = pydantic.Field(default=CLIP_MODEL_ID, description="CLIP checkpoint")
    aesthetic_model_id: str = pydantic.Field(
        default=AESTHETIC_MODEL_ID, description="aesthetic head checkpoint"
    )
    workers_per_stage: int | None = pydantic.Field(
        default=None, ge=1, description="fixed workers per stage (unset: autoscale)"
    )


def build_stages(options: VideoSplitOptions) -> list[CuratorStage[Any, Any] | CuratorStageSpec]:
    """The pipeline's stages for these options."""
    scoring = ClipScoring(
        options.clip_model_id,
        options.aesthetic_model_id,
        options.aesthetic_threshold,
        options.extract_fps,
        options.aesthetic_reduction,
    )
    models = annotation_models(options, options, scoring) | filter_models(options, options)
    # Workers load from the root the driver's weights check validated (see models/_weights.py).
    root = settings.weights_root()
    if options.splitting_algorithm is SplittingAlgorithm.TRANSNETV2:
        models["split"] = TRANSNETV2_MODEL_ID
    # Ingest/split/transcode meet unreadable or corrupt videos as data: record them, go on.
    bad_input_as_data = split_transcode_stages(options, root)
    stages: list[CuratorStage[Any, Any]] = [
        *bad_input_as_data,
        *build_text_filter_stages(options),
        *build_embedding_stages(options, scoring, root),
        *build_semantic_stages(options, window_config(options), root),
        *build_caption_stages(options, options.layout(), root),
        ClipWriterStage(options.layout(), models),
        *build_table_stages(options, options.layout()),
    ]
    return [
        CuratorStageSpec(
            s,
            num_workers=options.workers_per_stage,
            ignore_failures=True if any(s is d for d in bad_input_as_data) else None,
        )
        for s in stages
    ]


@attrs.define
class _InputPlan:
    """The videos of this run, discovered lazily; counts are final once iterated.

    With a checkpoint journal (`journal`: the positions it lists as done) every listed video
    is yielded, so that positions mean the same videos in every run; the runtime skips the
    ones the journal lists. Skipping finished videos here instead would shift the positions
    of the rest, and the journal would then skip videos that never ran.
    """

    options: VideoSplitOptions
    layout: OutputLayout
    journal: DoneSet | None = None
    found: int = 0
    skipped: int = 0
    video_ids: list[str] = attrs.field(factory=list)

    def __iter__(self) -> Iterator[VideoTask]:
        listed = sources.list_videos(self.options.input_path, self.options.input_storage)
        for source, name in listed:
            if self.options.limit is not None and len(self.video_ids) >= self.options.limit:
                return
            position = self.found
            self.found += 1
            video_id = sources.video_id_for(name)
            if self.journal is not None:
                if position in self.journal:
                    self.skipped += 1
                else:
                    self.video_ids.append(video_id)
                yield VideoTask(source=source, video_id=video_id)
                continue
            if self.layout.video_done(video_id):
                if not self.options.no_embeddings:
                    ensure_table(self.layout, video_id)  # a run may have stopped just before
                self.skipped += 1
                continue
            self.video_ids.append(video_id)
            yield VideoTask(source=source, video_id=video_id)


def describe_video_split(options: VideoSplitOptions) -> PipelineSketch:
    """The stages and videos a run would use (`--dry-run`); creates nothing."""
    return describe_files(
        lambda: build_stages(options),
        (options.input_path, options.input_storage, sources.VIDEO_EXTENSIONS, "videos"),
        options.output_path,
        options.limit,
    )


@register_pipeline(
    "video-split",
    VideoSplitOptions,
    "split, transcode, filter, embed, caption and write clips",
    describe=describe_video_split,
)
def run_video_split(options: VideoSplitOptions, run: RunOptions) -> PipelineResult:
    """Run the pipeline; writes clips and `summary.json` under `options.output_path`."""
    return split_videos(options, run)


def _journal_done(run_options: RunOptions | None) -> DoneSet | None:
    """The positions a resumed run's journal lists as done; None without a journal."""
    if run_options is None or run_options.checkpoint_dir is None:
        return None
    return read_done(run_options.checkpoint_dir) if run_options.resume else DoneSet()


def split_videos(
    options: VideoSplitOptions, run_options: RunOptions | None = None
) -> PipelineResult:
    """Library entry point: `run_options` say how to run (Ray address, ...; `RunOptions`).

    Failure records go to `OUT/failures/<run id>.jsonl` unless `failures_path` is given.
    """
    layout = options.layout()
    prepare_output(layout)
    plan = _InputPlan(options, layout, _journal_done(run_options))
    run, run_options = bind_run("video-split", run_options, options.output_path)
    started = time.monotonic()
    # the summary is built from the files on disk
    result = execute_pipeline(plan, build_stages(options), run_options, collect_outputs=False)
    wall_s = time.monotonic() - started
    summary = build_summary(
        layout,
        video_ids=plan.video_ids,
        videos_found=plan.found,
        videos_skipped=plan.skipped,
        failures_path=result.failures_path,
        wall_s=wall_s,
    )
    summary["run_id"] = run.id
    summary["options"] = options.model_dump(mode="json")
    publish_run_files(layout, run, result.failures_path, summary)
    return result
