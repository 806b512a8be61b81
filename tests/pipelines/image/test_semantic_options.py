"""image-annotate's semantic filter and classifier options: which checks and stages a run gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.image.options import ImageAnnotateOptions
from cosmos_curate.pipelines.image.pipeline import build_stages, configured_filters
from cosmos_curate.pipelines.image.semantic import semantic_checks
from cosmos_curate.pipelines.registry import PipelineOptionsError
from cosmos_curate.pipelines.semantic.categories import IMAGE_FILTER_CATEGORIES


def _options(tmp_path: Path, **flags: Any) -> ImageAnnotateOptions:
    (tmp_path / "in").mkdir(exist_ok=True)
    raw = {"input_path": str(tmp_path / "in"), "output_path": str(tmp_path / "out"), **flags}
    options = registry.parse_options(registry.get_pipeline("image-annotate"), raw)
    assert isinstance(options, ImageAnnotateOptions)
    return options


def test_checks_run_filter_first_and_score_only_turns_a_check_on(tmp_path: Path) -> None:
    """--image-classifier-score-only alone runs the classifier, after the filter; no rejection."""
    options = _options(
        tmp_path,
        semantic_filter=True,
        image_classifier_score_only=True,
        image_classifier_allow="pets",
        skip_captions=True,
        no_embeddings=True,
    )
    checks = semantic_checks(options)
    assert [(c.name, c.drop) for c in checks] == [
        ("semantic_filter", True),
        ("image_classifier", False),
    ]
    assert checks[0].rule.categories == IMAGE_FILTER_CATEGORIES
    assert "Does this image show low resolution?" in checks[0].prompt
    assert list(configured_filters(options)) == ["semantic_filter"]
    names = [type(s.stage).__name__ for s in build_stages(options)]
    assert names[1:5] == [
        "ImageSemanticPrepStage",
        "SemanticCheckStage",
        "ImageSemanticPrepStage",
        "SemanticCheckStage",
    ]


def test_no_check_by_default(tmp_path: Path) -> None:
    """Without the flags no semantic stage runs."""
    assert semantic_checks(_options(tmp_path)) == []


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"image_classifier_allow": "dogs"}, "--image-classifier-allow: unknown type 'dogs'"),
        (
            {"image_classifier_use_custom_categories": True},
            "--image-classifier-use-custom-categories needs --image-classifier-allow",
        ),
        ({"semantic_filter_categories": " , "}, "--semantic-filter-categories: give at least one"),
        (
            {"semantic_filter": True, "semantic_filter_model_variant": "openai"},
            "--semantic-filter-model-variant openai needs --semantic-filter-openai-base-url",
        ),
        (
            {"image_classifier_block_file": "/nonexistent/list.txt"},
            "--image-classifier-block-file /nonexistent/list.txt: no such file",
        ),
    ],
)
def test_bad_values_name_the_image_flag(
    tmp_path: Path, flags: dict[str, Any], message: str
) -> None:
    """Errors name image-annotate's own flags, not video-split's."""
    with pytest.raises(PipelineOptionsError) as error:
        _options(tmp_path, **flags)
    assert message in str(error.value)
