"""image-annotate's semantic filter and image classifier options.

Names and defaults as upstream's image pipeline (`--semantic-filter`,
`--semantic-filter-score-only`, `--semantic-filter-categories`,
`--semantic-filter-rejection-threshold`, `--image-classifier`, `--image-classifier-allow`,
...). Each check runs on the caption backends: `--*-model-variant local` (a VLM in the
pipeline, `--*-model-id`, unset: `--caption-model-id`) or `openai` (`--*-openai-base-url`,
unset: `--openai-base-url`). `--image-classifier-score-only` is ours (upstream's classifier
always rejects).
"""

from __future__ import annotations

import pydantic

from cosmos_curate.pipelines.semantic.categories import IMAGE_FILTER_CATEGORIES
from cosmos_curate.pipelines.semantic.check_options import CheckFlags, CheckOptions

_FLAGS = CheckFlags(
    filter="semantic_filter",
    classifier="image_classifier",
    unit="images",
    chooser="model_variant",
    chooser_help="local (a VLM in the pipeline) | openai (a served model)",
    threshold_help="reject an image when more than this share of its answers is rejected (0-1)",
    categories_help="comma-separated categories to reject (unset: "
    + ", ".join(IMAGE_FILTER_CATEGORIES) + ")",
    allow_help="comma-separated types to keep (an image needs one)",
    filter_categories=IMAGE_FILTER_CATEGORIES,
    order=("categories", "rejection_threshold", "allow", "block", "allow_file", "block_file",
           "use_custom_categories", "model_variant", "model_id", "batch_size",
           "max_output_tokens", "num_gpus", "openai_base_url", "openai_model_name",
           "openai_retries", "openai_retry_delay_seconds"),
)  # fmt: skip


@_FLAGS.filter_fields
class _SemanticFilter(CheckOptions):
    """The filter's own flags; `CheckFlags` adds the shared `--semantic-filter-*` ones."""

    semantic_filter: bool = pydantic.Field(
        default=False, description="ask a VLM whether each image shows the filter categories"
    )
    semantic_filter_score_only: bool = pydantic.Field(
        default=False,
        description="run the filter but only record its answers and verdicts: reject nothing",
    )


@_FLAGS.classifier_fields
class _ImageClassifier(CheckOptions):
    """The classifier's own flags; `CheckFlags` adds the `--image-classifier-*` ones."""

    image_classifier: bool = pydantic.Field(
        default=False, description="label images by type; keep allowed, reject blocked ones"
    )
    image_classifier_score_only: bool = pydantic.Field(
        default=False,
        description="run the classifier but only record labels and verdicts: reject nothing",
    )


class ImageSemanticOptions(_ImageClassifier, _SemanticFilter):
    """The semantic filter and the image classifier (caption backend options: see the base)."""

    def enabled(self, prefix: str) -> bool:
        """Whether a check runs: `--<check>` or `--<check>-score-only` (which implies it)."""
        return bool(getattr(self, prefix) or getattr(self, f"{prefix}_score_only"))
