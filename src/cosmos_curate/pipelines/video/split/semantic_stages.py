"""The VLM semantic filter and the video classifier: a prompted VLM judges each caption window.

Each check is two stages, as captioning is: `SemanticPrepStage` (CPU) cuts the clip into
caption windows (`--captioning-window-size`, ...), decodes their sampled frames and prepares
them with the check's prompt; `SemanticCheckStage` asks the model (a local VLM, or a served
one) about every window of a batch of clips in one call and judges each clip from its
windows' answers (`pipelines/semantic/answers.py`). The clip's metadata gets the verdict
under the check's name (`vlm_filter` or `video_classifier`: mode, model, passed, reason,
labels, each window's answer); the image flow runs `SemanticCheckStage` on images (one
window each). The classifier's labels also go to upstream's
`qwen_type_classification`. In `enable` mode a failing clip is dropped with the reason
(upstream's `qwen_rejection_stage` says which check); `score-only` drops nothing.
"""

from __future__ import annotations

from typing import Any

import attrs

from cosmos_curate.pipelines.semantic.answers import ClassifierRule, FilterRule
from cosmos_curate.pipelines.video.captioning import (
    Captioner,
    CaptionPreparer,
    WindowConfig,
    WindowModelStage,
    WindowPrepStage,
    prepare_windows,
)
from cosmos_curate.pipelines.video.tasks import ClipTask

VLM_FILTER = "vlm_filter"
VIDEO_CLASSIFIER = "video_classifier"


@attrs.frozen
class SemanticCheck:
    """One check: its name, prompt, rule, and whether a failing clip is dropped."""

    name: str
    prompt: str
    rule: FilterRule | ClassifierRule
    drop: bool

    @property
    def mode(self) -> str:
        """`enable` or `score-only`, as the metadata records it."""
        return "enable" if self.drop else "score-only"


class SemanticPrepStage(WindowPrepStage):
    """Windows, sampled frames and the check's prompt -> model inputs per window (CPU)."""

    def __init__(self, check: SemanticCheck, preparer: CaptionPreparer, windows: WindowConfig):
        super().__init__(preparer, windows)
        self.check = check

    def process_clip(self, task: ClipTask, encoded: bytes) -> None:
        """Process one live clip; see the class docstring."""
        windows = self.windows.windows_for(task)
        prepare_windows(task, windows, self.windows, self._preparer, self.check.prompt)
        task.check_windows[self.check.name] = windows


class SemanticCheckStage(WindowModelStage):
    """Answers every prepared window of a batch in one model call; judges and records."""

    def __init__(
        self,
        check: SemanticCheck,
        captioner: Captioner,
        model_name: str,
        gpus: float = 1.0,
        batch_size: int = 16,
    ) -> None:
        super().__init__(captioner, model_name, gpus, batch_size, cpus=0.25)
        self.check = check

    def process_data(self, tasks: list[ClipTask]) -> list[ClipTask] | None:
        """Process a batch; see the class docstring."""
        name = self.check.name
        live = [t for t in tasks if t.filtered_by is None and name in t.check_windows]
        self.answer([w for t in live for w in t.check_windows[name]])
        model = self.answering_model
        for task in live:
            windows = task.check_windows.pop(name)
            self._record(task, [w.caption or "" for w in windows], windows, model)
        return tasks

    def _record(self, task: ClipTask, answers: list[str], windows: list[Any], model: str) -> None:
        verdict = self.check.rule.judge(answers)
        record: dict[str, Any] = {"mode": self.check.mode, "model": model, **verdict.to_dict()}
        for entry, window in zip(record["windows"], windows, strict=True):
            entry.update(start_frame=window.start_frame, end_frame=window.end_frame)
        task.annotations[self.check.name] = record
        if isinstance(self.check.rule, ClassifierRule):
            task.annotations["qwen_type_classification"] = list(verdict.labels)
        if self.check.drop and not verdict.passed:
            # upstream's `qwen_rejection_stage` values; the image flow's checks share them
            stage = "classifier" if isinstance(self.check.rule, ClassifierRule) else "semantic"
            task.annotations["qwen_rejection_stage"] = stage
            task.drop(self.check.name, verdict.reason)
