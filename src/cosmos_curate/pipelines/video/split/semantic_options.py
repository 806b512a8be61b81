"""The VLM semantic filter's and video classifier's options (`--vlm-filter-*`, ...).

Names and defaults as upstream's `--vlm-filter-*` and `--video-classifier-*`.

Each check runs on the caption backends (`CaptionBackendOptions`): a local transformers VLM
(`--vlm-filter-model-id`, unset: `--caption-model-id`) or an OpenAI-compatible server
(`--vlm-filter-endpoint openai`, `--vlm-filter-openai-base-url`, unset: `--openai-base-url`;
the API key from `--openai-api-key-env`, requests in flight from `--openai-max-concurrent`).
"""

from __future__ import annotations

import enum

import pydantic

from cosmos_curate.pipelines.semantic.answers import ClassifierRule, FilterRule
from cosmos_curate.pipelines.semantic.categories import VIDEO_FILTER_CATEGORIES
from cosmos_curate.pipelines.semantic.rules import classifier_rule, filter_rule, listed_names
from cosmos_curate.pipelines.video.annotation_options import (
    CaptionBackendOptions,
    CaptioningAlgorithm,
)


class SemanticMode(enum.StrEnum):
    """Upstream's modes (score-only: decide and record, drop nothing)."""

    ENABLE = "enable"
    SCORE_ONLY = "score-only"
    DISABLE = "disable"


class FilterPromptVariant(enum.StrEnum):
    """Upstream's filter prompt variants (`default`: its default categories)."""

    DEFAULT = "default"


_THRESHOLD = "reject a clip when more than this share of its windows is rejected (0-1)"


class SemanticOptions(CaptionBackendOptions):
    """The semantic filter and the classifier (the caption backend options: see the base)."""

    vlm_filter: SemanticMode = pydantic.Field(
        default=SemanticMode.DISABLE,
        description="enable (drop clips showing the categories) | score-only | disable",
    )
    vlm_filter_prompt_variant: FilterPromptVariant = pydantic.Field(
        default=FilterPromptVariant.DEFAULT, description="default (upstream's 13 categories)"
    )
    vlm_filter_categories: str | None = pydantic.Field(
        default=None, description="comma-separated categories to filter out (unset: the variant's)"
    )
    vlm_filter_rejection_threshold: float = pydantic.Field(
        default=0.5, ge=0, le=1, description=_THRESHOLD
    )
    vlm_filter_batch_size: int = pydantic.Field(default=16, ge=1, description="clips per VLM call")
    vlm_filter_model_id: str | None = pydantic.Field(
        default=None, description="local VLM checkpoint (unset: --caption-model-id)"
    )
    vlm_filter_max_output_tokens: int = pydantic.Field(
        default=8192, ge=1, description="answer length cap"
    )
    vlm_filter_num_gpus: float = pydantic.Field(default=1.0, gt=0, description="GPUs per worker")
    vlm_filter_endpoint: CaptioningAlgorithm = pydantic.Field(
        default=CaptioningAlgorithm.LOCAL, description="local (a VLM in the pipeline) | openai"
    )
    vlm_filter_openai_base_url: str | None = pydantic.Field(
        default=None, description="OpenAI-compatible endpoint (unset: --openai-base-url)"
    )
    vlm_filter_openai_model_name: str = pydantic.Field(
        default="auto", description="served model name (auto: the first at /models)"
    )
    vlm_filter_openai_retries: int = pydantic.Field(
        default=3, ge=0, description="retries per request"
    )
    vlm_filter_openai_retry_delay_seconds: float = pydantic.Field(
        default=1.0, ge=0, description="delay between retries"
    )
    video_classifier: SemanticMode = pydantic.Field(
        default=SemanticMode.DISABLE,
        description="enable (keep allowed, drop blocked types) | score-only (label only) | disable",
    )
    video_classifier_rejection_threshold: float = pydantic.Field(
        default=0.5, ge=0, le=1, description=_THRESHOLD + " (block list)"
    )
    video_classifier_use_custom_categories: bool = pydantic.Field(
        default=False, description="allow and block lists are the whole category set (any names)"
    )
    video_classifier_allow: str | None = pydantic.Field(
        default=None, description="comma-separated types to keep (a clip needs one in a window)"
    )
    video_classifier_block: str | None = pydantic.Field(
        default=None, description="comma-separated types to reject"
    )
    video_classifier_allow_file: str | None = pydantic.Field(
        default=None, description="file of types to keep, one per line"
    )
    video_classifier_block_file: str | None = pydantic.Field(
        default=None, description="file of types to reject, one per line"
    )
    video_classifier_batch_size: int = pydantic.Field(
        default=16, ge=1, description="clips per VLM call"
    )
    video_classifier_model_id: str | None = pydantic.Field(
        default=None, description="local VLM checkpoint (unset: --caption-model-id)"
    )
    video_classifier_max_output_tokens: int = pydantic.Field(
        default=8192, ge=1, description="answer length cap"
    )
    video_classifier_num_gpus: float = pydantic.Field(
        default=1.0, gt=0, description="GPUs per worker"
    )
    video_classifier_endpoint: CaptioningAlgorithm = pydantic.Field(
        default=CaptioningAlgorithm.LOCAL, description="local (a VLM in the pipeline) | openai"
    )
    video_classifier_openai_base_url: str | None = pydantic.Field(
        default=None, description="OpenAI-compatible endpoint (unset: --openai-base-url)"
    )
    video_classifier_openai_model_name: str = pydantic.Field(
        default="auto", description="served model name (auto: the first at /models)"
    )
    video_classifier_openai_retries: int = pydantic.Field(
        default=3, ge=0, description="retries per request"
    )
    video_classifier_openai_retry_delay_seconds: float = pydantic.Field(
        default=1.0, ge=0, description="delay between retries"
    )

    @pydantic.model_validator(mode="after")
    def _checks_usable(self) -> SemanticOptions:
        self.vlm_filter_rule()
        self.video_classifier_rule()
        for prefix in ("vlm_filter", "video_classifier"):
            if getattr(self, prefix) is not SemanticMode.DISABLE:
                self.check_backend(prefix)
        return self

    def vlm_filter_rule(self) -> FilterRule:
        """The filter's categories and threshold."""
        return filter_rule(
            self.vlm_filter_categories,
            VIDEO_FILTER_CATEGORIES,
            self.vlm_filter_rejection_threshold,
            "--vlm-filter",
        )

    def video_classifier_rule(self) -> ClassifierRule:
        """The classifier's categories, allow and block lists, and threshold."""
        flag = "--video-classifier"
        return classifier_rule(
            listed_names(
                self.video_classifier_allow, self.video_classifier_allow_file, f"{flag}-allow"
            ),
            listed_names(
                self.video_classifier_block, self.video_classifier_block_file, f"{flag}-block"
            ),
            self.video_classifier_use_custom_categories,
            self.video_classifier_rejection_threshold,
            flag,
        )

    def check_backend(self, prefix: str) -> CaptionBackendOptions:
        """The caption backend options of one check (`vlm_filter` or `video_classifier`)."""
        return check_backend(self, prefix, "endpoint")


def check_backend(
    options: CaptionBackendOptions, prefix: str, endpoint: str
) -> CaptionBackendOptions:
    """The caption backend of one check whose options are `<prefix>_<name>` fields.

    `<prefix>_<endpoint>` chooses local or openai; `<prefix>_model_id`, `_max_output_tokens`,
    `_batch_size`, `_num_gpus` and `_openai_*` override the captioning backend's (image-annotate
    and video-split share this).
    """
    field = getattr(options, f"{prefix}_{endpoint}")
    base_url = getattr(options, f"{prefix}_openai_base_url") or options.openai_base_url
    if field is CaptioningAlgorithm.OPENAI and not base_url:
        flag = "--" + prefix.replace("_", "-")
        chooser = f"{flag}-{endpoint.replace('_', '-')}"
        msg = f"{chooser} openai needs {flag}-openai-base-url (or --openai-base-url)"
        raise ValueError(msg)
    return CaptionBackendOptions(
        captioning_algorithm=field,
        caption_model_id=getattr(options, f"{prefix}_model_id") or options.caption_model_id,
        caption_max_tokens=getattr(options, f"{prefix}_max_output_tokens"),
        caption_batch_size=getattr(options, f"{prefix}_batch_size"),
        caption_gpus=getattr(options, f"{prefix}_num_gpus"),
        openai_base_url=base_url,
        openai_model_name=getattr(options, f"{prefix}_openai_model_name"),
        openai_api_key_env=options.openai_api_key_env,
        openai_caption_retries=getattr(options, f"{prefix}_openai_retries"),
        openai_retry_delay_seconds=getattr(options, f"{prefix}_openai_retry_delay_seconds"),
        openai_max_concurrent=options.openai_max_concurrent,
    )
