"""image-annotate's semantic filter and image classifier, on the session's Ray cluster.

Inputs: three solid red, green and blue images.
- served model: an OpenAI-compatible server on 127.0.0.1 that says yes to each asked colour
  that dominates the image it is sent, so the decisions follow the images' content;
- local model: the tiny random LLaVA the caption tests use, whose answers are not JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from tests.pipelines.image import _images
from tests.pipelines.video import _annotation_fakes as fakes
from tests.pipelines.video import _synth

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.image.options import ImageAnnotateOptions
from cosmos_curate.pipelines.image.pipeline import annotate_images

pytestmark = pytest.mark.integration

COLOURS = fakes.COLOURS


@pytest.fixture
def colours(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    for i, name in enumerate(COLOURS):
        rgb = np.zeros((24, 32, 3), dtype=np.uint8)
        rgb[..., i] = 220
        _images.save(folder / f"{name}.png", Image.fromarray(rgb))
    return folder


def _run(inputs: Path, out: Path, **flags: Any) -> dict[str, Any]:
    """Parse `flags` as the CLI does, run, return the summary and each image's record."""
    raw = {
        "input_path": str(inputs),
        "output_path": str(out),
        "no_embeddings": True,
        "skip_captions": True,
        "caption_prep_min_pixels": 256,
        "caption_prep_max_pixels": 4096,
        "workers_per_stage": 1,
        **flags,
    }
    options = registry.parse_options(registry.get_pipeline("image-annotate"), raw)
    assert isinstance(options, ImageAnnotateOptions)
    annotate_images(options, RunOptions(metrics_port=None, check_weights=False))
    records = {}
    for folder in ("metas", "filtered_images"):
        for path in (out / folder).glob("*.json"):
            record = json.loads(path.read_text())
            records[Path(record["relative_path"]).stem] = {**record, "folder": folder}
    return {"summary": json.loads((out / "summary.json").read_text()), "images": records}


def test_served_model_filters_and_classifies_by_content(
    ray_cluster: dict[str, object], colours: Path, tmp_path: Path
) -> None:
    """Red is rejected by the filter, blue by the classifier's allow list; green is kept."""
    with fakes.colour_judge() as server:
        run = _run(
            colours,
            tmp_path / "out",
            semantic_filter=True,
            semantic_filter_categories="red",
            semantic_filter_model_variant="openai",
            image_classifier=True,
            image_classifier_use_custom_categories=True,
            image_classifier_allow="green",
            image_classifier_block="blue",
            image_classifier_model_variant="openai",
            openai_base_url=server.url,
        )
    red, green, blue = (run["images"][name] for name in COLOURS)
    assert red["folder"] == "filtered_images" and red["filtered_by"] == "semantic_filter"
    assert red["filter_reason"] == "shows red in 1 of 1 windows (> 0.5)"
    assert red["qwen_rejection_stage"] == "semantic"
    assert red["semantic_filter"]["windows"][0]["answer"] == '{"red": "yes"}'
    assert red["filters"]["semantic_filter"]["passed"] is False
    assert red["filters"]["image_classifier"]["passed"] is None  # not run after a rejection
    assert (tmp_path / "out" / red["image_path"]).read_bytes() == (colours / "red.png").read_bytes()
    assert blue["folder"] == "filtered_images" and blue["filtered_by"] == "image_classifier"
    assert blue["filter_reason"] == "no window shows an allowed category (green)"
    assert blue["qwen_rejection_stage"] == "classifier"
    assert green["folder"] == "metas" and green["filtered_by"] is None
    assert (
        green["semantic_filter"]["passed"] is True and green["semantic_filter"]["mode"] == "enable"
    )
    assert green["image_classifier"]["labels"] == green["qwen_type_classification"] == ["green"]
    assert green["filters"]["image_classifier"] == {"passed": True, "rejection_threshold": 0.5}
    assert green["models"]["semantic_filter"] == "auto"  # the flag's value, as for captions
    assert green["semantic_filter"]["model"] == fakes.SERVED_MODEL
    summary = run["summary"]
    assert summary["images_filtered_by"] == {"semantic_filter": 1, "image_classifier": 1}
    assert summary["num_images_passed"] == 1
    # One request per image and check: three for the filter, two for the classifier.
    assert len(server.requests) == 5


def test_score_only_keeps_every_image_and_records_the_verdicts(
    ray_cluster: dict[str, object], colours: Path, tmp_path: Path
) -> None:
    """Score-only filter (tiny local VLM) and classifier (served): all kept, verdicts recorded.

    The tiny VLM's answers are no JSON (enable mode would reject every image); the classifier
    blocks blue (enable mode would reject it). Score-only rejects nothing.
    """
    _synth.save_tiny_vlm()
    with fakes.colour_judge() as server:
        run = _run(
            colours,
            tmp_path / "out",
            semantic_filter_score_only=True,
            semantic_filter_model_id=_synth.TINY_VLM_ID,
            semantic_filter_max_output_tokens=4,
            semantic_filter_num_gpus=0.25,
            image_classifier_score_only=True,
            image_classifier_use_custom_categories=True,
            image_classifier_block="blue",
            image_classifier_model_variant="openai",
            image_classifier_openai_base_url=server.url,
        )
    assert run["summary"]["num_images_passed"] == len(COLOURS)
    assert run["summary"]["images_filtered_by"] == {}
    for name, record in run["images"].items():
        assert record["folder"] == "metas" and record["filtered_by"] is None, name
        assert record["filters"] == {}  # score-only checks reject nothing
        verdict = record["semantic_filter"]
        assert verdict["mode"] == "score-only" and verdict["model"] == _synth.TINY_VLM_ID
        assert record["models"]["semantic_filter"] == _synth.TINY_VLM_ID
        (window,) = verdict["windows"]
        assert window["answer"] and window["error"] == "unreadable answer"
        assert verdict["passed"] is False  # what enable mode would have rejected
        assert record["image_classifier"]["mode"] == "score-only"
    blue = run["images"]["blue"]["image_classifier"]
    assert (
        blue["passed"] is False and blue["reason"] == "shows blocked blue in 1 of 1 windows (> 0.5)"
    )
    assert run["images"]["green"]["image_classifier"]["passed"] is True
