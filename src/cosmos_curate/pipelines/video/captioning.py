"""Captioning per window: a CPU stage decodes and prepares, a model stage captions.

Each clip is cut into caption windows (`windows.py`); each window's frames are sampled at
the window config's fps, prepared by the backend's preparer (the VLM processor, or JPEG
encoding for a served model) and captioned. The clip's `caption` is its windows' captions
joined; the windows, the model and the prompt go into the clip metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import attrs
import numpy as np
import numpy.typing as npt

from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource
from cosmos_curate.pipelines.video.clip_frames import decode_frames, window_sample_indices
from cosmos_curate.pipelines.video.clip_stage import ClipStage
from cosmos_curate.pipelines.video.frames import capped_size
from cosmos_curate.pipelines.video.prompts import Prompt
from cosmos_curate.pipelines.video.tasks import ClipTask
from cosmos_curate.pipelines.video.windows import CaptionWindow, compute_windows


class CaptionPreparer(Protocol):
    """Turns one window's frames and the prompt into what the captioner takes."""

    def prepare(self, frames: Sequence[npt.NDArray[np.uint8]], prompt: str) -> Any: ...


class Captioner(Protocol):
    """Captions prepared windows, in order."""

    def setup(self) -> None: ...

    def generate(self, inputs: Sequence[Any]) -> list[str]: ...


@attrs.frozen
class WindowConfig:
    """How clips are cut into caption windows and how frames are sampled in each."""

    window_size: int = 256
    remainder_threshold: int = 128
    sampling_fps: float = 2.0
    max_frames: int | None = None

    def windows_for(self, task: ClipTask) -> list[CaptionWindow]:
        """The clip's caption windows (clip-relative frames)."""
        total = task.num_frames or (task.end_frame - task.start_frame)
        spans = compute_windows(total, self.window_size, self.remainder_threshold)
        return [CaptionWindow(start, end) for start, end in spans]


def ensure_windows(task: ClipTask, config: WindowConfig) -> list[CaptionWindow]:
    """The clip's windows, computed once (the preview and caption stages share them)."""
    if not task.windows:
        task.windows = config.windows_for(task)
    return task.windows


def prepare_windows(
    task: ClipTask,
    windows: Sequence[CaptionWindow],
    config: WindowConfig,
    preparer: CaptionPreparer,
    prompt: str,
) -> None:
    """Decode the windows' sampled frames of `task` once; set each window's model `inputs`."""
    if task.encoded is None:
        msg = f"clip {task.clip_id} has no encoded video to prepare"
        raise ValueError(msg)
    picks = [
        window_sample_indices(
            (w.start_frame, w.end_frame), task.meta.fps, config.sampling_fps, config.max_frames
        )
        for w in windows
    ]
    width, height = capped_size(task.width or task.meta.width, task.height or task.meta.height)
    frames = decode_frames(task.encoded, {i for p in picks for i in p}, width, height)
    for window, picked in zip(windows, picks, strict=True):
        window.inputs = preparer.prepare([frames[i] for i in picked], prompt)


class WindowPrepStage(ClipStage):
    """The CPU half of a window check (captions, semantic checks): holds the preparer.

    Subclasses cut clips into windows and prepare them with their own prompt.
    """

    def __init__(self, preparer: CaptionPreparer, windows: WindowConfig) -> None:
        self._preparer = preparer
        self.windows = windows

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        return CuratorStageResource(cpus=0.5)

    @property
    def model(self) -> ModelInterface | None:
        """The processor whose weights this stage loads (none for a served model)."""
        return self._preparer if isinstance(self._preparer, ModelInterface) else None


class CaptionPrepStage(WindowPrepStage):
    """Cuts each clip into windows, decodes their sampled frames once, prepares inputs."""

    def __init__(self, preparer: CaptionPreparer, prompt: Prompt, windows: WindowConfig) -> None:
        super().__init__(preparer, windows)
        self.prompt = prompt

    def process_clip(self, task: ClipTask, encoded: bytes) -> None:
        """Process one live clip; see the class docstring."""
        windows = ensure_windows(task, self.windows)
        prepare_windows(task, windows, self.windows, self._preparer, self.prompt.text)
        task.frames = None  # the writer needs the encoded clip, not the frames
        task.annotations.update(
            caption_prompt_variant=self.prompt.name, caption_prompt=self.prompt.text
        )


class WindowModelStage(CuratorStage[ClipTask, ClipTask]):
    """The model half of a window check: answers prepared windows in one call per batch."""

    def __init__(
        self, captioner: Captioner, model_name: str, gpus: float, batch_size: int, cpus: float
    ) -> None:
        self._captioner = captioner
        self.model_name = model_name
        self.gpus = gpus
        self.cpus = cpus
        self.batch_size = batch_size

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        return CuratorStageResource(cpus=self.cpus, gpus=self.gpus)

    @property
    def model(self) -> ModelInterface | None:
        """The model whose weights and env this stage uses (none for a served model)."""
        return self._captioner if isinstance(self._captioner, ModelInterface) else None

    @property
    def stage_batch_size(self) -> int:
        """Clips per call, so one generation serves several clips."""
        return self.batch_size

    def stage_setup(self) -> None:
        """Load the model, or resolve the served model's name."""
        self._captioner.setup()

    def answer(self, windows: list[CaptionWindow]) -> None:
        """Each window's model answer into its `caption` (its inputs are dropped)."""
        pending = [w for w in windows if w.inputs is not None]
        if not pending:
            return
        answers = self._captioner.generate([w.inputs for w in pending])
        for window, text in zip(pending, answers, strict=True):
            window.caption = text
            window.inputs = None

    @property
    def answering_model(self) -> str:
        """The model that answered: the served model's resolved name, else the configured one."""
        return getattr(self._captioner, "model_name", None) or self.model_name


class CaptionStage(WindowModelStage):
    """Captions every prepared window of a batch of clips in one call to the captioner."""

    def __init__(
        self,
        captioner: Captioner,
        model_name: str,
        gpus: float = 0.75,  # with the 0.25-GPU embedding stage, one GPU holds both
        batch_size: int = 8,
        cpus: float = 0.25,
    ) -> None:
        super().__init__(captioner, model_name, gpus, batch_size, cpus)

    def process_data(self, tasks: list[ClipTask]) -> list[ClipTask] | None:
        """Process a batch; see the class docstring."""
        live = [t for t in tasks if t.filtered_by is None and t.windows]
        if not any(w.inputs is not None for t in live for w in t.windows):
            return tasks
        self.answer([w for t in live for w in t.windows])
        model = self.answering_model
        for task in live:
            task.caption = " ".join(w.caption for w in task.windows if w.caption)
            task.annotations["caption_model"] = model
        return tasks
