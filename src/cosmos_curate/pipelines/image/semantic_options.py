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

from cosmos_curate.pipelines.semantic.answers import ClassifierRule, FilterRule
from cosmos_curate.pipelines.semantic.categories import IMAGE_FILTER_CATEGORIES
from cosmos_curate.pipelines.semantic.rules import classifier_rule, filter_rule, listed_names
from cosmos_curate.pipelines.video.annotation_options import (
    CaptionBackendOptions,
    CaptioningAlgorithm,
)
from cosmos_curate.pipelines.video.split.semantic_options import check_backend

_THRESHOLD = "reject an image when more than this share of its answers is rejected (0-1)"
_VARIANT = "local (a VLM in the pipeline) | openai (a served model)"


class ImageSemanticOptions(CaptionBackendOptions):
    """The semantic filter and the image classifier (caption backend options: see the base)."""

    semantic_filter: bool = pydantic.Field(
        default=False, description="ask a VLM whether each image shows the filter categories"
    )
    semantic_filter_score_only: bool = pydantic.Field(
        default=False,
        description="run the filter but only record its answers and verdicts: reject nothing",
    )
    semantic_filter_categories: str | None = pydantic.Field(
        default=None,
        description="comma-separated categories to reject (unset: "
        + ", ".join(IMAGE_FILTER_CATEGORIES)
        + ")",
    )
    semantic_filter_rejection_threshold: float = pydantic.Field(
        default=0.5, ge=0, le=1, description=_THRESHOLD
    )
    semantic_filter_model_variant: CaptioningAlgorithm = pydantic.Field(
        default=CaptioningAlgorithm.LOCAL, description=_VARIANT
    )
    semantic_filter_model_id: str | None = pydantic.Field(
        default=None, description="local VLM checkpoint (unset: --caption-model-id)"
    )
    semantic_filter_batch_size: int = pydantic.Field(
        default=16, ge=1, description="images per VLM call"
    )
    semantic_filter_max_output_tokens: int = pydantic.Field(
        default=8192, ge=1, description="answer length cap"
    )
    semantic_filter_num_gpus: float = pydantic.Field(
        default=1.0, gt=0, description="GPUs per worker"
    )
    semantic_filter_openai_base_url: str | None = pydantic.Field(
        default=None, description="OpenAI-compatible endpoint (unset: --openai-base-url)"
    )
    semantic_filter_openai_model_name: str = pydantic.Field(
        default="auto", description="served model name (auto: the first at /models)"
    )
    semantic_filter_openai_retries: int = pydantic.Field(
        default=3, ge=0, description="retries per request"
    )
    semantic_filter_openai_retry_delay_seconds: float = pydantic.Field(
        default=1.0, ge=0, description="delay between retries"
    )
    image_classifier: bool = pydantic.Field(
        default=False, description="label images by type; keep allowed, reject blocked ones"
    )
    image_classifier_score_only: bool = pydantic.Field(
        default=False,
        description="run the classifier but only record labels and verdicts: reject nothing",
    )
    image_classifier_rejection_threshold: float = pydantic.Field(
        default=0.5, ge=0, le=1, description=_THRESHOLD + " (block list)"
    )
    image_classifier_allow: str | None = pydantic.Field(
        default=None, description="comma-separated types to keep (an image needs one)"
    )
    image_classifier_block: str | None = pydantic.Field(
        default=None, description="comma-separated types to reject"
    )
    image_classifier_allow_file: str | None = pydantic.Field(
        default=None, description="file of types to keep, one per line"
    )
    image_classifier_block_file: str | None = pydantic.Field(
        default=None, description="file of types to reject, one per line"
    )
    image_classifier_use_custom_categories: bool = pydantic.Field(
        default=False, description="allow and block lists are the whole category set (any names)"
    )
    image_classifier_model_variant: CaptioningAlgorithm = pydantic.Field(
        default=CaptioningAlgorithm.LOCAL, description=_VARIANT
    )
    image_classifier_model_id: str | None = pydantic.Field(
        default=None, description="local VLM checkpoint (unset: --caption-model-id)"
    )
    image_classifier_batch_size: int = pydantic.Field(
        default=16, ge=1, description="images per VLM call"
    )
    image_classifier_max_output_tokens: int = pydantic.Field(
        default=8192, ge=1, description="answer length cap"
    )
    image_classifier_num_gpus: float = pydantic.Field(
        default=1.0, gt=0, description="GPUs per worker"
    )
    image_classifier_openai_base_url: str | None = pydantic.Field(
        default=None, description="OpenAI-compatible endpoint (unset: --openai-base-url)"
    )
    image_classifier_openai_model_name: str = pydantic.Field(
        default="auto", description="served model name (auto: the first at /models)"
    )
    image_classifier_openai_retries: int = pydantic.Field(
        default=3, ge=0, description="retries per request"
    )
    image_classifier_openai_retry_delay_seconds: float = pydantic.Field(
        default=1.0, ge=0, description="delay between retries"
    )

    @pydantic.model_validator(mode="after")
    def _checks_usable(self) -> ImageSemanticOptions:
        self.semantic_filter_rule()
        self.image_classifier_rule()
        for prefix in ("semantic_filter", "image_classifier"):
            if self.enabled(prefix):
                self.check_backend(prefix)
        return self

    def enabled(self, prefix: str) -> bool:
        """Whether a check runs: `--<check>` or `--<check>-score-only` (which implies it)."""
        return bool(getattr(self, prefix) or getattr(self, f"{prefix}_score_only"))

    def semantic_filter_rule(self) -> FilterRule:
        """The filter's categories and threshold."""
        return filter_rule(
            self.semantic_filter_categories,
            IMAGE_FILTER_CATEGORIES,
            self.semantic_filter_rejection_threshold,
            "--semantic-filter",
        )

    def image_classifier_rule(self) -> ClassifierRule:
        """The classifier's categories, allow and block lists, and threshold."""
        flag = "--image-classifier"
        return classifier_rule(
            listed_names(
                self.image_classifier_allow, self.image_classifier_allow_file, f"{flag}-allow"
            ),
            listed_names(
                self.image_classifier_block, self.image_classifier_block_file, f"{flag}-block"
            ),
            self.image_classifier_use_custom_categories,
            self.image_classifier_rejection_threshold,
            flag,
        )

    def check_backend(self, prefix: str) -> CaptionBackendOptions:
        """The backend of one check (`semantic_filter` or `image_classifier`)."""
        return check_backend(self, prefix, "model_variant")
