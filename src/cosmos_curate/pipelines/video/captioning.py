"""Captioning: a CPU stage prepares VLM inputs, a GPU stage generates captions in batches."""

from __future__ import annotations

from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource
from cosmos_curate.models.captioner import VLMCaptioner, VLMInputPreparer
from cosmos_curate.pipelines.video.frames import even_subset
from cosmos_curate.pipelines.video.tasks import ClipTask


class CaptionPrepStage(CuratorStage[ClipTask, ClipTask]):
    """Samples `num_frames` of each clip's frames and runs the VLM processor on them."""

    def __init__(self, preparer: VLMInputPreparer, prompt: str, num_frames: int) -> None:
        self._preparer = preparer
        self.prompt = prompt
        self.num_frames = num_frames

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        return CuratorStageResource(cpus=0.25)

    @property
    def model(self) -> ModelInterface | None:
        """The model whose weights and env this stage uses."""
        return self._preparer

    def process_data(self, tasks: list[ClipTask]) -> list[ClipTask] | None:
        """Process a batch; see the class docstring."""
        for task in tasks:
            if task.filtered_by is not None or task.frames is None:
                continue
            picked = [task.frames[i] for i in even_subset(len(task.frames), self.num_frames)]
            task.caption_inputs = self._preparer.prepare(picked, self.prompt)
            task.frames = None  # the writer needs the encoded clip, not the frames
        return tasks


class CaptionStage(CuratorStage[ClipTask, ClipTask]):
    """Generates captions for a batch of prepared clips on the GPU."""

    def __init__(self, captioner: VLMCaptioner, gpus: float = 0.75, batch_size: int = 8) -> None:
        self._captioner = captioner
        self.gpus = gpus
        self.batch_size = batch_size

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        # Default 0.75 GPU: with the 0.25-GPU embedding stage, one GPU holds both.
        return CuratorStageResource(cpus=0.25, gpus=self.gpus)

    @property
    def model(self) -> ModelInterface | None:
        """The model whose weights and env this stage uses."""
        return self._captioner

    @property
    def stage_batch_size(self) -> int:
        """Clips per call, so one forward pass serves several clips."""
        return self.batch_size

    def process_data(self, tasks: list[ClipTask]) -> list[ClipTask] | None:
        """Process a batch; see the class docstring."""
        live = [t for t in tasks if t.filtered_by is None and t.caption_inputs is not None]
        if live:
            captions = self._captioner.generate([t.caption_inputs or {} for t in live])
            for task, caption in zip(live, captions, strict=True):
                task.caption = caption
                task.caption_inputs = None
        return tasks
