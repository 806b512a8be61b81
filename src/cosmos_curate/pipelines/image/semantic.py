"""The semantic filter and the image classifier on images: a prompted VLM judges each image.

Each check is two stages, as captioning is: `ImageSemanticPrepStage` (CPU) resizes the image
as caption preparation does and prepares it with the check's prompt as the image's single
window; the video flow's `SemanticCheckStage` then asks the model and judges (a rejection
threshold over one window: the image shows a category or not). The verdict goes into the
image's metadata under the check's name (`semantic_filter`, `image_classifier`); in
`enable` mode a failing image is rejected and kept apart in `filtered_images/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.stage_interface import CuratorStage
from cosmos_curate.pipelines.image.captions import ImageWindowPrepStage
from cosmos_curate.pipelines.image.semantic_options import ImageSemanticOptions
from cosmos_curate.pipelines.image.tasks import ImageTask
from cosmos_curate.pipelines.semantic.prompts import classifier_prompt, filter_prompt
from cosmos_curate.pipelines.video.annotation_stages import backend_placement, caption_models
from cosmos_curate.pipelines.video.captioning import CaptionPreparer
from cosmos_curate.pipelines.video.split.semantic_stages import SemanticCheck, SemanticCheckStage

SEMANTIC_FILTER = "semantic_filter"
IMAGE_CLASSIFIER = "image_classifier"


class ImageSemanticPrepStage(ImageWindowPrepStage):
    """Resizes each live image and prepares it with the check's prompt (CPU).

    `keep_pixels`: leave the decoded pixels for a later stage (another check, captions).
    """

    def __init__(
        self,
        check: SemanticCheck,
        preparer: CaptionPreparer,
        pixels: tuple[int, int],
        keep_pixels: bool,
        cpus: float = 0.5,
    ) -> None:
        super().__init__(preparer, *pixels, cpus)
        self.check = check
        self.keep_pixels = keep_pixels

    def process_image(self, task: ImageTask, rgb: npt.NDArray[np.uint8]) -> None:
        """Process one live image; see the class docstring."""
        task.check_windows[self.check.name] = [self.window(rgb, self.check.prompt)]
        if not self.keep_pixels:
            task.rgb = None


def semantic_checks(options: ImageSemanticOptions) -> list[SemanticCheck]:
    """The enabled checks, filter first (upstream's order)."""
    checks = []
    if options.enabled(SEMANTIC_FILTER):
        rule = options.filter_rule()
        prompt = filter_prompt(rule.categories, media="image")
        drop = not options.semantic_filter_score_only
        checks.append(SemanticCheck(SEMANTIC_FILTER, prompt, rule, drop))
    if options.enabled(IMAGE_CLASSIFIER):
        labels = options.classifier_rule()
        prompt = classifier_prompt(labels.labels, media="image")
        drop = not options.image_classifier_score_only
        checks.append(SemanticCheck(IMAGE_CLASSIFIER, prompt, labels, drop))
    return checks


def build_semantic_stages(
    options: ImageSemanticOptions, pixels: tuple[int, int], keep_pixels: bool, root: Path | None
) -> list[CuratorStage[Any, Any]]:
    """Preparation (CPU) and model stage of each enabled check, on its backend.

    `keep_pixels`: a stage after the checks (captions) still needs the decoded pixels.
    """
    stages: list[CuratorStage[Any, Any]] = []
    checks = semantic_checks(options)
    for i, check in enumerate(checks):
        backend = options.check_backend(check.name)
        preparer, captioner = caption_models(backend, root)
        model_name, gpus = backend_placement(backend)
        keep = keep_pixels or i < len(checks) - 1
        stages += [
            ImageSemanticPrepStage(check, preparer, pixels, keep),
            SemanticCheckStage(
                check, captioner, model_name, gpus=gpus, batch_size=backend.caption_batch_size
            ),
        ]
    return stages


def check_settings(options: ImageSemanticOptions) -> dict[str, dict[str, Any]]:
    """The rejecting checks' settings, for the metadata's `filters` (score-only drops none)."""
    settings: dict[str, dict[str, Any]] = {}
    for check in semantic_checks(options):
        if check.drop:
            settings[check.name] = {"rejection_threshold": check.rule.rejection_threshold}
    return settings


def check_models(options: ImageSemanticOptions) -> dict[str, str]:
    """The metadata's `models` entries of the enabled checks."""
    return {
        check.name: backend_placement(options.check_backend(check.name))[0]
        for check in semantic_checks(options)
    }
