"""Caption enhancement: a text model rewrites each window's caption (optional stage)."""

from __future__ import annotations

from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource
from cosmos_curate.models.caption_enhancer import CaptionEnhancer
from cosmos_curate.pipelines.video.prompts import Prompt
from cosmos_curate.pipelines.video.tasks import ClipTask


class EnhanceCaptionStage(CuratorStage[ClipTask, ClipTask]):
    """Adds `enhanced_caption` to every captioned window; the original caption stays."""

    def __init__(
        self, enhancer: CaptionEnhancer, prompt: Prompt, batch_size: int = 32, gpus: float = 0.5
    ) -> None:
        self._enhancer = enhancer
        self.prompt = prompt
        self.batch_size = batch_size
        self.gpus = gpus

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        return CuratorStageResource(cpus=0.25, gpus=self.gpus)

    @property
    def model(self) -> ModelInterface | None:
        """The model whose weights and env this stage uses."""
        return self._enhancer

    @property
    def stage_batch_size(self) -> int:
        """Clips per call (all their windows go in one generation batch)."""
        return self.batch_size

    def process_data(self, tasks: list[ClipTask]) -> list[ClipTask] | None:
        """Process a batch; see the class docstring."""
        live = [t for t in tasks if t.filtered_by is None]
        windows = [w for t in live for w in t.windows if w.caption]
        if not windows:
            return tasks
        enhanced = self._enhancer.enhance([w.caption or "" for w in windows], self.prompt.text)
        for window, text in zip(windows, enhanced, strict=True):
            window.enhanced_caption = text
        for task in live:
            task.annotations.update(
                enhance_model=self._enhancer.model_id,
                enhance_prompt_variant=self.prompt.name,
                enhance_prompt=self.prompt.text,
            )
        return tasks
