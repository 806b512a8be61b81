"""`ImageStage`: the per-image stages work on live images only, and pass every image on.

No Ray and no model weights: the preparer is the served-model one (JPEG encoding), and a
skipped image is one no stage could work on (rejected, or its pixels gone).
"""

from __future__ import annotations

import io
import pickle

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from cosmos_curate.models.openai_captioner import OpenAIInputPreparer
from cosmos_curate.pipelines.image.captions import ImageCaptionPrepStage, ImageWindowPrepStage
from cosmos_curate.pipelines.image.embedding import (
    ImageEndpointEmbeddingStage,
    ImageStillClipPrepStage,
)
from cosmos_curate.pipelines.image.filters import SizeFilterStage
from cosmos_curate.pipelines.image.image_stage import ImageStage
from cosmos_curate.pipelines.image.scoring import ImageClipPrepStage, ImageModelPrepStage
from cosmos_curate.pipelines.image.semantic import ImageSemanticPrepStage
from cosmos_curate.pipelines.image.tasks import ImageTask
from cosmos_curate.pipelines.semantic.answers import FilterRule
from cosmos_curate.pipelines.video.prompts import Prompt
from cosmos_curate.pipelines.video.split.semantic_stages import SemanticCheck


def _image(image_id: str, size: tuple[int, int] | None = (64, 48)) -> ImageTask:
    """An image after load; `size=None`: its pixels are gone."""
    task = ImageTask(
        source=f"/in/{image_id}.png",
        image_id=image_id,
        relative_path=f"{image_id}.png",
        extension=".png",
    )
    if size is not None:
        width, height = size
        task.rgb = np.full((height, width, 3), 128, dtype=np.uint8)
        task.width, task.height = width, height
    return task


def _jpeg_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


class _Seen(ImageStage):
    """Records which images reached `process_image`, and their pixels' shape."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple[int, ...]]] = []

    def process_image(self, task: ImageTask, rgb: npt.NDArray[np.uint8]) -> None:
        self.seen.append((task.image_id, rgb.shape))
        task.annotations["seen"] = True


def test_only_live_images_reach_process_image_and_every_image_goes_on() -> None:
    """A rejected image and one without pixels are passed on untouched, in order."""
    live, rejected, freed = _image("live"), _image("rejected"), _image("freed", None)
    rejected.drop("aesthetic", "too dull")
    stage = _Seen()
    out = stage.process_data([live, rejected, freed])
    assert out == [live, rejected, freed]
    assert stage.seen == [("live", (48, 64, 3))]
    assert "seen" not in rejected.annotations and "seen" not in freed.annotations
    assert rejected.filtered_by == "aesthetic" and rejected.filter_reason == "too dull"


def test_the_size_filter_rejects_only_live_images_and_says_why() -> None:
    """A small live image is rejected with its reason; one rejected before keeps its reason."""
    small, earlier = _image("small", (20, 40)), _image("earlier", (20, 40))
    earlier.drop("aesthetic", "too dull")
    out = SizeFilterStage(min_side=32, max_aspect_ratio=None).process_data([small, earlier])
    assert out == [small, earlier]
    assert small.filtered_by == "size" and small.filter_reason is not None
    assert "shorter side 20 px < --min-side 32" in small.filter_reason
    assert (earlier.filtered_by, earlier.filter_reason) == ("aesthetic", "too dull")


def test_caption_prep_resizes_live_images_and_leaves_the_rest_alone() -> None:
    """A live image becomes one window at most `max_pixels`; a rejected one gets none."""
    big, rejected = _image("big", (400, 300)), _image("rejected", (400, 300))
    rejected.drop("size", "too small")
    prompt = Prompt("default", "Describe the image.")
    stage = ImageCaptionPrepStage(OpenAIInputPreparer(), prompt, 64 * 48, 200 * 150)
    out = stage.process_data([big, rejected])
    assert out == [big, rejected]
    [window] = big.windows
    assert window.inputs.prompt == "Describe the image."
    assert _jpeg_size(window.inputs.jpegs[0]) == (200, 150)
    assert big.rgb is None and big.annotations["caption_prompt_variant"] == "default"
    assert rejected.windows == [] and "caption_prompt" not in rejected.annotations


def test_semantic_prep_keeps_pixels_only_when_asked() -> None:
    """The check's prompt goes into its own window; pixels stay for a later check or captions."""
    check = SemanticCheck(
        "semantic_filter", "Does it show violence?", FilterRule(("violence",)), drop=True
    )
    kept, freed = _image("kept"), _image("freed")
    for task, keep in ((kept, True), (freed, False)):
        stage = ImageSemanticPrepStage(check, OpenAIInputPreparer(), (1, 10**6), keep_pixels=keep)
        stage.process_data([task])
    for task in (kept, freed):
        [window] = task.check_windows["semantic_filter"]
        assert window.inputs.prompt == "Does it show violence?"
        assert _jpeg_size(window.inputs.jpegs[0]) == (64, 48)
    assert kept.rgb is not None and freed.rgb is None


@pytest.mark.parametrize(
    "stage",
    [
        SizeFilterStage, ImageClipPrepStage, ImageCaptionPrepStage, ImageSemanticPrepStage,
        ImageStillClipPrepStage, ImageEndpointEmbeddingStage,
    ],
)  # fmt: skip
def test_per_image_stages_write_only_process_image(stage: type[ImageStage]) -> None:
    """Each per-image stage keeps the base's walk (and its skip rule) instead of its own."""
    assert issubclass(stage, ImageStage)
    assert "process_data" not in vars(stage)


def test_both_vlm_preparations_share_one_base() -> None:
    """Caption and semantic preparation resize and prepare one way (`ImageWindowPrepStage`)."""
    for stage in (ImageCaptionPrepStage, ImageSemanticPrepStage):
        assert issubclass(stage, ImageWindowPrepStage)
        assert not {"window", "resources", "model"} & set(vars(stage))


def test_both_embedding_preparations_share_one_base() -> None:
    """CLIP and a video embedding model prepare images one way (`ImageModelPrepStage`)."""
    for stage in (ImageClipPrepStage, ImageStillClipPrepStage):
        assert issubclass(stage, ImageModelPrepStage)
        assert not {"process_image", "resources", "model"} & set(vars(stage))


def test_an_image_stage_survives_the_trip_to_a_worker() -> None:
    """Stages are pickled to every Ray worker: the abstract base must not get in the way."""
    prompt = Prompt("default", "Describe the image.")
    stage = pickle.loads(
        pickle.dumps(ImageCaptionPrepStage(OpenAIInputPreparer(), prompt, cpus=2.0))
    )
    assert isinstance(stage, ImageStage) and stage.resources.cpus == 2.0
    assert stage.model is None  # a served model's preparer loads no weights
