"""On-screen text filter (upstream's artificial-text filter): drop clips with overlaid text.

Every `frame_interval`-th frame of a clip (and its first) is decoded with its long side at
most 640 px, text boxes are detected on it (`models/text_detector.py`) and `text_tracks`
decides whether the text is overlaid: stable across frames, or in a corner. The clip's
metadata gets `post_production_text` (upstream's name) and `artificial_text` (frames
sampled, frames with text, segments, the device); a clip with overlay text is dropped as
`artificial_text` with the reason, and kept under `filtered_clips/`.
"""

from __future__ import annotations

from typing import Any

from cosmos_curate.core.interfaces.stage_interface import CuratorStageResource
from cosmos_curate.models.text_detector import DETECT_MAX_SIDE, TextDetector
from cosmos_curate.pipelines.video.clip_frames import decode_frames
from cosmos_curate.pipelines.video.clip_stage import ClipStage
from cosmos_curate.pipelines.video.frames import capped_size
from cosmos_curate.pipelines.video.split.text_tracks import TextRules, TextVerdict, judge_text
from cosmos_curate.pipelines.video.tasks import ClipTask

ARTIFICIAL_TEXT_FILTER = "artificial_text"


def text_sample_indices(num_frames: int, frame_interval: int) -> list[int]:
    """Frames 0, k, 2k, ... of a clip of `num_frames` frames."""
    return list(range(0, max(num_frames, 0), frame_interval))


def clip_text_verdict(task: ClipTask, detector: TextDetector, rules: TextRules) -> TextVerdict:
    """Decode `task`'s sampled frames, detect their text and judge it."""
    if task.encoded is None:
        msg = f"clip {task.clip_id} has no encoded video to check for text"
        raise ValueError(msg)
    width, height = capped_size(
        task.width or task.meta.width, task.height or task.meta.height, DETECT_MAX_SIDE
    )
    total = task.num_frames or (task.end_frame - task.start_frame)
    frames = decode_frames(
        task.encoded, text_sample_indices(total, rules.frame_interval), width, height
    )
    samples = [(index, detector.boxes(frames[index])) for index in sorted(frames)]
    return judge_text(samples, width, height, rules)


def verdict_record(verdict: TextVerdict, rules: TextRules, device: str) -> dict[str, Any]:
    """The clip metadata's `artificial_text` entry."""
    return {
        "frame_interval": rules.frame_interval,
        "frames_sampled": verdict.frames_sampled,
        "frames_with_text": verdict.frames_with_text,
        "segments": [s.to_dict() for s in verdict.segments],
        "reason": verdict.reason,
        "device": device,
    }


class ArtificialTextFilterStage(ClipStage):
    """Checks every live clip for overlay text; drops the ones that have it."""

    def __init__(
        self, rules: TextRules, gpus: float = 0.0, detector: TextDetector | None = None
    ) -> None:
        self.rules = rules
        self.gpus = gpus
        self._detector = detector or TextDetector(use_gpu=gpus > 0)

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        # One ONNX Runtime thread per worker: the autoscaler adds workers, not threads.
        return CuratorStageResource(cpus=1.0, gpus=self.gpus)

    def stage_setup(self) -> None:
        """Load the detection model."""
        self._detector.setup()

    def process_clip(self, task: ClipTask, encoded: bytes) -> None:
        """Process one live clip; see the class docstring."""
        verdict = clip_text_verdict(task, self._detector, self.rules)
        task.annotations["post_production_text"] = verdict.has_text
        task.annotations["artificial_text"] = verdict_record(
            verdict, self.rules, self._detector.device
        )
        if verdict.has_text:
            task.drop(ARTIFICIAL_TEXT_FILTER, f"overlay text: {verdict.reason}")
