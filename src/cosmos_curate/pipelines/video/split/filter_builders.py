"""The content filters' stages `video-split` runs for its options.

On-screen text, then the VLM semantic filter, then the video classifier (each left out when
disabled), as upstream orders them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cosmos_curate.core.interfaces.stage_interface import CuratorStage
from cosmos_curate.models.text_detector import TEXT_DETECTOR_NAME
from cosmos_curate.pipelines.semantic.prompts import classifier_prompt, filter_prompt
from cosmos_curate.pipelines.video.annotation_stages import backend_placement, caption_models
from cosmos_curate.pipelines.video.captioning import WindowConfig
from cosmos_curate.pipelines.video.split.semantic_options import SemanticMode, SemanticOptions
from cosmos_curate.pipelines.video.split.semantic_stages import (
    VIDEO_CLASSIFIER,
    VLM_FILTER,
    SemanticCheck,
    SemanticCheckStage,
    SemanticPrepStage,
)
from cosmos_curate.pipelines.video.split.text_filter import ArtificialTextFilterStage
from cosmos_curate.pipelines.video.split.text_filter_options import (
    TextFilterMode,
    TextFilterOptions,
)

Stages = list[CuratorStage[Any, Any]]


def build_text_filter_stages(options: TextFilterOptions) -> Stages:
    """The on-screen text filter, when enabled."""
    if options.artificial_text_filter is TextFilterMode.DISABLE:
        return []
    return [ArtificialTextFilterStage(options.text_rules(), gpus=options.text_filter_gpus())]


def semantic_checks(options: SemanticOptions) -> list[SemanticCheck]:
    """The enabled checks, filter first."""
    checks = []
    if options.vlm_filter is not SemanticMode.DISABLE:
        rule = options.filter_rule()
        drop = options.vlm_filter is SemanticMode.ENABLE
        checks.append(SemanticCheck(VLM_FILTER, filter_prompt(rule.categories), rule, drop))
    if options.video_classifier is not SemanticMode.DISABLE:
        labels = options.classifier_rule()
        drop = options.video_classifier is SemanticMode.ENABLE
        prompt = classifier_prompt(labels.labels)
        checks.append(SemanticCheck(VIDEO_CLASSIFIER, prompt, labels, drop))
    return checks


def build_semantic_stages(
    options: SemanticOptions, windows: WindowConfig, root: Path | None
) -> Stages:
    """Preparation (CPU) and model stage of each enabled check, on its caption backend."""
    stages: Stages = []
    for check in semantic_checks(options):
        backend = options.check_backend(check.name)
        preparer, captioner = caption_models(backend, root)
        model_name, gpus = backend_placement(backend)
        stages += [
            SemanticPrepStage(check, preparer, windows),
            SemanticCheckStage(
                check, captioner, model_name, gpus=gpus, batch_size=backend.caption_batch_size
            ),
        ]
    return stages


def filter_models(text: TextFilterOptions, semantic: SemanticOptions) -> dict[str, str]:
    """The clip metadata's `models` entries of the enabled filters."""
    models = {}
    if text.artificial_text_filter is not TextFilterMode.DISABLE:
        models["artificial_text"] = TEXT_DETECTOR_NAME
    for check in semantic_checks(semantic):
        models[check.name] = backend_placement(semantic.check_backend(check.name))[0]
    return models
