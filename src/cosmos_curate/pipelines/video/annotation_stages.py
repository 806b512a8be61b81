"""The embedding, caption, preview and embedding-table stages `video-split` runs for its options.

Embeddings: CLIP frame extraction (CPU) and CLIP + aesthetics (fractional GPU) run when CLIP
makes the embedding or an aesthetic score is wanted; a video model adds its own CPU
preparation and GPU stage. Captions: preparation (CPU) -> previews -> captioning (VLM or
served model) -> enhancement. After the writer: one parquet table per video.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from cosmos_curate.core.interfaces.stage_interface import CuratorStage
from cosmos_curate.models.aesthetics import ClipAesthetics
from cosmos_curate.models.caption_enhancer import CaptionEnhancer
from cosmos_curate.models.captioner import VLMCaptioner, VLMInputPreparer
from cosmos_curate.models.clip import ClipImagePreprocessor
from cosmos_curate.models.openai_captioner import ApiKey, OpenAICaptioner, OpenAIInputPreparer
from cosmos_curate.models.video_embedder import VideoEmbedder, VideoEmbedPreprocessor
from cosmos_curate.pipelines.video.annotation_options import (
    CaptionBackendOptions,
    CaptioningAlgorithm,
    CaptionOptions,
    EmbeddingAlgorithm,
    EmbeddingOptions,
)
from cosmos_curate.pipelines.video.captioning import (
    CaptionPrepStage,
    CaptionStage,
    WindowConfig,
)
from cosmos_curate.pipelines.video.embedding import (
    AestheticReduction,
    ClipEmbeddingStage,
    VideoEmbeddingStage,
    VideoEmbedPrepStage,
)
from cosmos_curate.pipelines.video.embedding_table import EmbeddingTableStage
from cosmos_curate.pipelines.video.enhance import EnhanceCaptionStage
from cosmos_curate.pipelines.video.frames import FrameExtractionStage
from cosmos_curate.pipelines.video.layout import OutputLayout
from cosmos_curate.pipelines.video.previews import PreviewStage

Stages = list[CuratorStage[Any, Any]]


@attrs.frozen
class ClipScoring:
    """The CLIP side of the pipeline: checkpoints, aesthetic threshold and reduction, frame rate."""

    clip_model_id: str
    aesthetic_model_id: str
    aesthetic_threshold: float | None
    extract_fps: float
    aesthetic_reduction: AestheticReduction = AestheticReduction.MIN


def clip_stage_needed(options: EmbeddingOptions, scoring: ClipScoring) -> bool:
    """Whether CLIP runs: it makes the embedding, or scores clips for the aesthetic filter."""
    return clip_embeds(options) or scoring.aesthetic_threshold is not None


def clip_embeds(options: EmbeddingOptions) -> bool:
    """Whether CLIP makes the clips' embeddings."""
    return not options.no_embeddings and options.embedding_algorithm is EmbeddingAlgorithm.CLIP


def build_embedding_stages(
    options: EmbeddingOptions, scoring: ClipScoring, root: Path | None
) -> Stages:
    """CLIP (embedding and/or aesthetic score) and the video model, as the options ask."""
    stages: Stages = []
    if clip_stage_needed(options, scoring):
        stages += [
            FrameExtractionStage(
                scoring.extract_fps,
                ClipImagePreprocessor(scoring.clip_model_id, root),
                keep_frames=False,  # the caption stages decode their own frames
            ),
            ClipEmbeddingStage(
                ClipAesthetics(scoring.clip_model_id, scoring.aesthetic_model_id, root),
                scoring.aesthetic_threshold,
                batch_size=options.embedding_batch_size,
                keep_embedding=clip_embeds(options),
                gpus=options.embedding_gpus_per_worker,
                aesthetic_reduction=scoring.aesthetic_reduction,
            ),
        ]
    model_id = options.video_embedding_model_id
    if not options.no_embeddings and model_id is not None:
        stages += [
            VideoEmbedPrepStage(
                VideoEmbedPreprocessor(model_id, root), options.embedding_sampling_fps
            ),
            VideoEmbeddingStage(
                VideoEmbedder(model_id, root),
                options.embedding_algorithm.value,
                batch_size=options.embedding_batch_size,
                gpus=options.embedding_gpus_per_worker,
            ),
        ]
    return stages


def window_config(options: CaptionOptions) -> WindowConfig:
    """Caption windows and frame sampling from the options."""
    return WindowConfig(
        window_size=options.captioning_window_size,
        remainder_threshold=options.captioning_remainder_threshold,
        sampling_fps=options.captioning_sampling_fps,
        max_frames=options.caption_frames,
    )


def caption_models(options: CaptionBackendOptions, root: Path | None) -> tuple[Any, Any]:
    """The caption backend the options choose: its preparer (CPU) and its captioner.

    Only the backend options are read, so the image pipeline and the semantic checks
    (`semantic_stages.py`) build their models here too.
    """
    if options.captioning_algorithm is CaptioningAlgorithm.OPENAI:
        captioner = OpenAICaptioner(
            base_url=options.openai_base_url or "",
            model_name=options.openai_model_name,
            api_key=ApiKey.from_env(options.openai_api_key_env),
            max_tokens=options.caption_max_tokens,
            max_concurrent=options.openai_max_concurrent,
            retries=options.openai_caption_retries,
            retry_delay_s=options.openai_retry_delay_seconds,
        )
        return OpenAIInputPreparer(), captioner
    return (
        VLMInputPreparer(options.caption_model_id, root),
        VLMCaptioner(options.caption_model_id, options.caption_max_tokens, root),
    )


def backend_placement(options: CaptionBackendOptions) -> tuple[str, float]:
    """The model name to record and the GPUs per worker of the backend the options choose."""
    if options.captioning_algorithm is CaptioningAlgorithm.OPENAI:
        # Requests are I/O: no GPU; a batch holds enough windows to keep requests in flight.
        return options.openai_model_name, 0.0
    return options.caption_model_id, options.caption_gpus


def caption_pair(options: CaptionBackendOptions, root: Path | None) -> tuple[Any, CaptionStage]:
    """The caption backend the options choose: its preparer (CPU) and its caption stage."""
    preparer, captioner = caption_models(options, root)
    model_name, gpus = backend_placement(options)
    stage = CaptionStage(captioner, model_name, gpus=gpus, batch_size=options.caption_batch_size)
    return preparer, stage


def build_caption_stages(
    options: CaptionOptions, layout: OutputLayout, root: Path | None
) -> Stages:
    """Caption preparation, previews, captioning and enhancement, as the options ask."""
    windows = window_config(options)
    previews: Stages = []
    if options.generate_previews:
        previews.append(
            PreviewStage(layout, windows, options.preview_target_fps, options.preview_target_height)
        )
    if options.skip_captions:
        return previews
    preparer, caption_stage = caption_pair(options, root)
    stages: Stages = [
        CaptionPrepStage(preparer, options.caption_prompt_resolved(), windows),
        *previews,
        caption_stage,
    ]
    if options.enhance_captions:
        enhancer = CaptionEnhancer(
            options.enhance_captions_model_id, options.enhance_captions_max_tokens, root
        )
        stages.append(
            EnhanceCaptionStage(
                enhancer,
                options.enhance_prompt_resolved(),
                batch_size=options.enhance_captions_batch_size,
            )
        )
    return stages


def build_table_stages(options: EmbeddingOptions, layout: OutputLayout) -> Stages:
    """After the writer: the per-video embedding tables (none with --no-embeddings)."""
    return [] if options.no_embeddings else [EmbeddingTableStage(layout)]


def annotation_models(
    embedding: EmbeddingOptions, captions: CaptionOptions, scoring: ClipScoring
) -> dict[str, str]:
    """The `models` of the clip metadata: which checkpoint did what."""
    models: dict[str, str] = {}
    if clip_stage_needed(embedding, scoring):
        models["aesthetic"] = scoring.aesthetic_model_id
    if not embedding.no_embeddings:
        models["embedding"] = embedding.video_embedding_model_id or scoring.clip_model_id
    if not captions.skip_captions:
        local = captions.captioning_algorithm is CaptioningAlgorithm.LOCAL
        models["caption"] = captions.caption_model_id if local else captions.openai_model_name
        if captions.enhance_captions:
            models["enhance"] = captions.enhance_captions_model_id
    return models
