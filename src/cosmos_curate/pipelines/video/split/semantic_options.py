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

from cosmos_curate.pipelines.semantic.categories import VIDEO_FILTER_CATEGORIES
from cosmos_curate.pipelines.semantic.check_options import CheckFlags, CheckOptions


class SemanticMode(enum.StrEnum):
    """Upstream's modes (score-only: decide and record, drop nothing)."""

    ENABLE = "enable"
    SCORE_ONLY = "score-only"
    DISABLE = "disable"


class FilterPromptVariant(enum.StrEnum):
    """Upstream's filter prompt variants (`default`: its default categories)."""

    DEFAULT = "default"


_FLAGS = CheckFlags(
    filter="vlm_filter",
    classifier="video_classifier",
    unit="clips",
    chooser="endpoint",
    chooser_help="local (a VLM in the pipeline) | openai",
    threshold_help="reject a clip when more than this share of its windows is rejected (0-1)",
    categories_help="comma-separated categories to filter out (unset: the variant's)",
    allow_help="comma-separated types to keep (a clip needs one in a window)",
    filter_categories=VIDEO_FILTER_CATEGORIES,
    order=("categories", "rejection_threshold", "use_custom_categories", "allow", "block",
           "allow_file", "block_file", "batch_size", "model_id", "max_output_tokens",
           "num_gpus", "endpoint", "openai_base_url", "openai_model_name", "openai_retries",
           "openai_retry_delay_seconds"),
)  # fmt: skip


@_FLAGS.filter_fields
class _VlmFilter(CheckOptions):
    """The filter's own flags; `CheckFlags` adds the shared `--vlm-filter-*` ones."""

    vlm_filter: SemanticMode = pydantic.Field(
        default=SemanticMode.DISABLE,
        description="enable (drop clips showing the categories) | score-only | disable",
    )
    vlm_filter_prompt_variant: FilterPromptVariant = pydantic.Field(
        default=FilterPromptVariant.DEFAULT, description="default (upstream's 13 categories)"
    )


@_FLAGS.classifier_fields
class _VideoClassifier(CheckOptions):
    """The classifier's own flag; `CheckFlags` adds the `--video-classifier-*` ones."""

    video_classifier: SemanticMode = pydantic.Field(
        default=SemanticMode.DISABLE,
        description="enable (keep allowed, drop blocked types) | score-only (label only) | disable",
    )


class SemanticOptions(_VideoClassifier, _VlmFilter):
    """The semantic filter and the classifier (the caption backend options: see the base)."""

    def enabled(self, prefix: str) -> bool:
        """Whether a check runs (`enable` or `score-only`)."""
        return getattr(self, prefix) is not SemanticMode.DISABLE
