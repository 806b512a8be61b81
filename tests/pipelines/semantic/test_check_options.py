"""`check_options`: a check's shared flags are declared once and read back by prefix.

video-split (`--vlm-filter-*`, `--video-classifier-*`) and image-annotate
(`--semantic-filter-*`, `--image-classifier-*`) keep upstream's names; what their checks
share has one type, default and limits under every prefix.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from cosmos_curate.pipelines.image.options import ImageAnnotateOptions
from cosmos_curate.pipelines.semantic.check_options import CheckOptions
from cosmos_curate.pipelines.video.annotation_options import CaptioningAlgorithm
from cosmos_curate.pipelines.video.split.pipeline import VideoSplitOptions

BACKEND = ("model_id", "batch_size", "max_output_tokens", "num_gpus", "openai_base_url",
           "openai_model_name", "openai_retries", "openai_retry_delay_seconds")  # fmt: skip
CLASSIFIER = ("rejection_threshold", "use_custom_categories", "allow", "block", "allow_file",
              "block_file")  # fmt: skip
CHECKS = {
    "vlm_filter": (VideoSplitOptions, ("categories", "rejection_threshold")),
    "video_classifier": (VideoSplitOptions, CLASSIFIER),
    "semantic_filter": (ImageAnnotateOptions, ("categories", "rejection_threshold")),
    "image_classifier": (ImageAnnotateOptions, CLASSIFIER),
}


def _shape(model: type[CheckOptions], name: str) -> tuple[object, ...]:
    field = model.model_fields[name]
    return (field.annotation, field.default, tuple(map(repr, field.metadata)))


@pytest.mark.parametrize("suffix", [*BACKEND, "rejection_threshold", "categories", "allow"])
def test_every_check_declares_a_shared_field_alike(suffix: str) -> None:
    """Same type, default and limits under each prefix that has the field (one declaration)."""
    shapes = {
        _shape(model, f"{prefix}_{suffix}")
        for prefix, (model, own) in CHECKS.items()
        if suffix in BACKEND or suffix in own
    }
    assert len(shapes) == 1, shapes


def test_each_pipeline_keeps_its_chooser_and_wording() -> None:
    """Upstream's names stay: `--*-endpoint` on video-split, `--*-model-variant` on images."""
    video, image = VideoSplitOptions.model_fields, ImageAnnotateOptions.model_fields
    assert {"vlm_filter_endpoint", "video_classifier_endpoint"} <= set(video)
    assert {"semantic_filter_model_variant", "image_classifier_model_variant"} <= set(image)
    assert not any(name.endswith("_model_variant") for name in video)
    assert video["vlm_filter_batch_size"].description == "clips per VLM call"
    assert image["semantic_filter_batch_size"].description == "images per VLM call"


def test_a_check_reads_its_own_prefix(tmp_path: Path) -> None:
    """Each check's backend comes from its own flags, the captioner's where unset."""
    (tmp_path / "in").mkdir()
    options = ImageAnnotateOptions(
        input_path=str(tmp_path / "in"), output_path=str(tmp_path / "out"),
        semantic_filter=True, semantic_filter_batch_size=3,
        image_classifier_score_only=True, image_classifier_allow="pets",
        image_classifier_model_variant=CaptioningAlgorithm.OPENAI,
        image_classifier_openai_base_url="http://127.0.0.1:9/v1",
    )  # fmt: skip
    options = pickle.loads(pickle.dumps(options))  # as the driver hands options around
    filter_backend = options.check_backend("semantic_filter")
    classifier_backend = options.check_backend("image_classifier")
    assert filter_backend.caption_batch_size == 3
    assert filter_backend.captioning_algorithm is CaptioningAlgorithm.LOCAL
    assert filter_backend.caption_model_id == options.caption_model_id
    assert classifier_backend.caption_batch_size == 16
    assert classifier_backend.openai_base_url == "http://127.0.0.1:9/v1"
    assert options.classifier_rule().allow == ("pets",)
