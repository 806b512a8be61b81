"""The `image-annotate` pipeline: images in, checked, scored, embedded and described.

Stages (each its own worker pool, CPU work kept out of the GPU stages):
load (read + decode; unreadable files become failure records) -> [size/aspect filter] ->
[CLIP preparation (CPU) -> CLIP embedding + aesthetic score (fractional GPU, the video
flow's `ClipEmbeddingStage`)] -> [another embedder (`--embedding-algorithm`): a Cosmos-Embed1
preparation (CPU) and the video flow's `VideoEmbeddingStage`, or requests to an embeddings
endpoint (`embedding.py`)] -> [semantic filter, image classifier: each a preparation
(CPU) and a VLM stage (`semantic.py`)] -> [caption preparation (CPU) -> captioning (VLM on GPU or
a served model, the video flow's `CaptionStage`)] -> writer. Bracketed stages run when the
options ask for them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from cosmos_curate.core.interfaces.pipeline_interface import PipelineResult, execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageSpec
from cosmos_curate.core.utils import settings
from cosmos_curate.models.aesthetics import ClipAesthetics
from cosmos_curate.models.clip import ClipImagePreprocessor
from cosmos_curate.models.openai_captioner import ApiKey
from cosmos_curate.models.openai_embedder import OpenAIImageEmbedder
from cosmos_curate.models.video_embedder import VideoEmbedder, VideoEmbedPreprocessor
from cosmos_curate.pipelines.image.captions import ImageCaptionPrepStage
from cosmos_curate.pipelines.image.decode import IMAGE_EXTENSIONS
from cosmos_curate.pipelines.image.embedding import (
    ImageEndpointEmbeddingStage,
    ImageStillClipPrepStage,
)
from cosmos_curate.pipelines.image.embedding_options import ImageEmbeddingAlgorithm
from cosmos_curate.pipelines.image.filters import SIZE_FILTER, SizeFilterStage
from cosmos_curate.pipelines.image.layout import ImageLayout
from cosmos_curate.pipelines.image.load import ImageLoadStage
from cosmos_curate.pipelines.image.options import ImageAnnotateOptions
from cosmos_curate.pipelines.image.scoring import ImageClipPrepStage
from cosmos_curate.pipelines.image.semantic import (
    build_semantic_stages,
    check_models,
    check_settings,
    semantic_checks,
)
from cosmos_curate.pipelines.image.sources import image_sources, list_image_entries
from cosmos_curate.pipelines.image.summary import build_image_summary
from cosmos_curate.pipelines.image.table import write_parts
from cosmos_curate.pipelines.image.tasks import ImageTask
from cosmos_curate.pipelines.image.writer import ImageWriterStage
from cosmos_curate.pipelines.registry import RunOptions, register_pipeline
from cosmos_curate.pipelines.run_setup import bind_run
from cosmos_curate.pipelines.sketch import (
    PipelineSketch,
    built_stages,
    describe_files,
    sketch_inputs,
    summarize,
)
from cosmos_curate.pipelines.video.annotation_options import CaptioningAlgorithm
from cosmos_curate.pipelines.video.annotation_stages import caption_pair
from cosmos_curate.pipelines.video.embedding import (
    AESTHETIC_FILTER,
    ClipEmbeddingStage,
    VideoEmbeddingStage,
)
from cosmos_curate.pipelines.video.summary import (
    prepare_output,
    publish_run_files,
)

__all__ = ["ImageAnnotateOptions", "annotate_images", "build_stages"]

Stages = list[CuratorStage[Any, Any]]
_PER_IMAGE_FAILURES = (ImageLoadStage, ImageEndpointEmbeddingStage)


def _embedder(options: ImageAnnotateOptions) -> tuple[ImageEmbeddingAlgorithm, str | None] | None:
    """The algorithm and checkpoint that embed the images, or None without embeddings."""
    return None if options.no_embeddings else options.embedding_model()


def _clip_needed(options: ImageAnnotateOptions) -> bool:
    """CLIP runs when it makes the embeddings or scores images for the aesthetic filter."""
    embedder = _embedder(options)
    clip_embeds = embedder is not None and embedder[0] is ImageEmbeddingAlgorithm.CLIP
    return clip_embeds or options.aesthetic_threshold is not None


def configured_filters(options: ImageAnnotateOptions) -> dict[str, dict[str, Any]]:
    """The filters this run applies, in order, with their settings (for the metadata)."""
    filters: dict[str, dict[str, Any]] = {}
    if options.min_side is not None or options.max_aspect_ratio is not None:
        filters[SIZE_FILTER] = {
            "min_side": options.min_side,
            "max_aspect_ratio": options.max_aspect_ratio,
        }
    if options.aesthetic_threshold is not None:
        filters[AESTHETIC_FILTER] = {"threshold": options.aesthetic_threshold}
    return filters | check_settings(options)


def models_used(options: ImageAnnotateOptions) -> dict[str, str]:
    """Which checkpoint did what (the metadata's `models`)."""
    models: dict[str, str] = {}
    if _clip_needed(options):
        models["aesthetic"] = options.aesthetic_model_id
    if (embedder := _embedder(options)) is not None:
        models["embedding"] = embedder[1] or options.embedding_openai_model_name
    if not options.skip_captions:
        local = options.captioning_algorithm is CaptioningAlgorithm.LOCAL
        models["caption"] = options.caption_model_id if local else options.openai_model_name
    return models | check_models(options)


def build_stages(options: ImageAnnotateOptions) -> list[CuratorStage[Any, Any] | CuratorStageSpec]:
    """The pipeline's stages for these options."""
    root = settings.weights_root()  # workers load from the root the driver's check validated
    load = ImageLoadStage(options.input_storage, options.max_pixels, options.load_cpus_per_worker)
    stages: Stages = [load]
    if SIZE_FILTER in configured_filters(options):
        stages.append(SizeFilterStage(options.min_side, options.max_aspect_ratio))
    embedding = _embedding_stages(options, root)
    captions = _caption_stages(options, root)
    if captions and _prepare_captions_first(options):
        # every CPU step ahead of the models: in process, the helper process does them all
        stages += embedding[:1] + captions[:1] + embedding[1:] + captions[1:]
    else:
        pixels = (options.caption_prep_min_pixels, options.caption_prep_max_pixels)
        stages += embedding
        stages += build_semantic_stages(options, pixels, not options.skip_captions, root)
        stages += captions
    stages.append(
        ImageWriterStage(options.layout(), models_used(options), configured_filters(options))
    )
    return [
        CuratorStageSpec(
            s,
            num_workers=options.workers_per_stage,
            # bad files and failed embedding requests are data: record them, go on
            ignore_failures=True if isinstance(s, _PER_IMAGE_FAILURES) else None,
        )
        for s in stages
    ]


def _caption_stages(options: ImageAnnotateOptions, root: Path | None) -> Stages:
    """Caption preparation (CPU) and the captioner, or none with `--skip-captions`."""
    if options.skip_captions:
        return []
    preparer, caption_stage = caption_pair(options, root)
    prep = ImageCaptionPrepStage(
        preparer,
        options.caption_prompt_resolved(),
        options.caption_prep_min_pixels,
        options.caption_prep_max_pixels,
        options.caption_prep_cpus_per_worker,
    )
    return [prep, caption_stage]


def _prepare_captions_first(options: ImageAnnotateOptions) -> bool:
    """Whether caption preparation may run before the CLIP stage (right after CLIP's).

    It may when no model stage before the captioner drops an image (no aesthetic threshold,
    no semantic check) or needs the pixels the preparation frees (another embedder).
    """
    embedder = _embedder(options)
    other = embedder is not None and embedder[0] is not ImageEmbeddingAlgorithm.CLIP
    return options.aesthetic_threshold is None and not semantic_checks(options) and not other


def _embedding_stages(options: ImageAnnotateOptions, root: Path | None) -> Stages:
    """CLIP (embedding and/or aesthetic score), then another embedder when one is chosen."""
    embedder = _embedder(options)
    other = embedder is not None and embedder[0] is not ImageEmbeddingAlgorithm.CLIP
    pixels_later = not options.skip_captions or bool(semantic_checks(options))
    stages: Stages = []
    clip = options.clip_checkpoint
    if _clip_needed(options):
        stages += [
            ImageClipPrepStage(
                ClipImagePreprocessor(clip, root), keep_pixels=pixels_later or other
            ),
            ClipEmbeddingStage(
                ClipAesthetics(clip, options.aesthetic_model_id, root),
                options.aesthetic_threshold,
                batch_size=options.embedding_batch_size,
                keep_embedding=embedder is not None and not other,
                gpus=options.embedding_gpus_per_worker,
            ),
        ]
    if embedder is None or not other:
        return stages
    algorithm, model_id = embedder
    if model_id is None:
        served = OpenAIImageEmbedder(
            base_url=options.embedding_base_url or "",
            model_name=options.embedding_openai_model_name,
            api_key=ApiKey.from_env(options.embedding_api_key_env),
            dimensions=options.embedding_openai_dimensions,
            retries=options.embedding_openai_retries,
            retry_delay_s=options.embedding_openai_retry_delay_seconds,
        )
        return [*stages, ImageEndpointEmbeddingStage(served, keep_pixels=pixels_later)]
    return [
        *stages,
        ImageStillClipPrepStage(VideoEmbedPreprocessor(model_id, root), pixels_later),
        VideoEmbeddingStage(
            VideoEmbedder(model_id, root),
            algorithm.value,
            batch_size=options.embedding_batch_size,
            gpus=options.embedding_gpus_per_worker,
        ),
    ]


@attrs.define
class _InputPlan:
    """The images of this run, listed lazily; counts are final once iterated.

    Images an earlier run wrote (kept or rejected) are skipped, counted and kept in
    `skipped_ids` (for the parquet parts an interrupted run left unwritten).
    """

    options: ImageAnnotateOptions
    layout: ImageLayout
    found: int = 0
    skipped: int = 0
    image_ids: list[str] = attrs.field(factory=list)
    skipped_ids: list[str] = attrs.field(factory=list)

    def __iter__(self) -> Iterator[ImageTask]:
        limit = self.options.limit
        options = self.options
        for source in image_sources(options.input_path, options.input_list, options.input_storage):
            if limit is not None and self.found >= limit:
                return
            self.found += 1
            if self.layout.image_done(source.image_id):
                self.skipped += 1
                self.skipped_ids.append(source.image_id)
                continue
            self.image_ids.append(source.image_id)
            yield ImageTask(
                source=source.url,
                image_id=source.image_id,
                relative_path=source.relative_path,
                extension=source.extension,
                member=source.member,
            )


def _in_process(options: ImageAnnotateOptions, run_options: RunOptions) -> bool | None:
    """The run's `in_process`: the option, else True when the caller asked, else the rule.

    Fixed workers per stage are a Ray pool's: a run given them goes on Ray unless forced.
    """
    if options.in_process is not None:
        return options.in_process
    if run_options.in_process:
        return True
    return False if options.workers_per_stage is not None else None


def describe_image_annotate(options: ImageAnnotateOptions) -> PipelineSketch:
    """The stages and images a run would use (`--dry-run`); creates nothing."""
    sketch = _sketch(options)
    return attrs.evolve(sketch, notes=sketch.notes + _path_note(options))


def _sketch(options: ImageAnnotateOptions) -> PipelineSketch:
    if options.input_list is not None:
        listed = options.input_list
        stages, stage_problems = built_stages(lambda: build_stages(options))
        found, problems = sketch_inputs(
            lambda: summarize(
                listed,
                "images",
                (
                    (s.relative_path, None)
                    for s in list_image_entries(listed, options.input_storage)
                ),
            )
        )
        return PipelineSketch((stages,), found, options.output_path, stage_problems + problems)
    assert options.input_path is not None  # the options' check: one of the two is given
    return describe_files(
        lambda: build_stages(options),
        (options.input_path, options.input_storage, IMAGE_EXTENSIONS, "images"),
        options.output_path,
        options.limit,
    )


def _path_note(options: ImageAnnotateOptions) -> tuple[str, ...]:
    """Where the stages run: this process, Ray, or (unset) the rule that decides."""
    from cosmos_curate.core.runtime.in_process import SMALL_MACHINE_CPUS  # only for --dry-run

    chosen = _in_process(options, RunOptions())
    if chosen is False:
        return ()
    if chosen:
        return ("--in-process: the stages run in this process, without Ray",)
    return (
        "with no cluster given (--ray-address, RAY_ADDRESS), no GPU here and at most "
        f"{SMALL_MACHINE_CPUS} CPUs for the run, the stages run in this process without Ray "
        "(--no-in-process: on Ray)",
    )


@register_pipeline("image-annotate", ImageAnnotateOptions, describe=describe_image_annotate)
def run_image_annotate(options: ImageAnnotateOptions, run: RunOptions) -> PipelineResult:
    """Run the pipeline; writes images, metadata and `summary.json` under the output."""
    return annotate_images(options, run)


def annotate_images(
    options: ImageAnnotateOptions, run_options: RunOptions | None = None
) -> PipelineResult:
    """Library entry point: `run_options` say how to run (Ray address, ...; `RunOptions`).

    Failure records go to `OUT/failures/<run id>.jsonl` unless `failures_path` is given.
    """
    layout = options.layout()
    prepare_output(layout)
    plan = _InputPlan(options, layout)
    run, run_options = bind_run("image-annotate", run_options, options.output_path)
    run_options = attrs.evolve(run_options, in_process=_in_process(options, run_options))
    started = time.monotonic()
    # the summary is built from the files written
    result = execute_pipeline(plan, build_stages(options), run_options, collect_outputs=False)
    summary = build_image_summary(
        layout,
        image_ids=plan.image_ids,
        images_found=plan.found,
        images_skipped=plan.skipped,
        failures_path=result.failures_path,
        wall_s=time.monotonic() - started,
    )
    summary["run_id"] = run.id
    summary["in_process"] = result.in_process
    summary["parquet_parts"] = write_parts(layout, plan.skipped_ids + plan.image_ids, run.id)
    summary["options"] = options.model_dump(mode="json")
    publish_run_files(layout, run, result.failures_path, summary)
    return result
