"""Caption enhancement: a text model rewrites each window's caption (optional stage)."""

from __future__ import annotations

from cosmos_curate.models.caption_enhancer import CaptionEnhancer
from cosmos_curate.pipelines.video.model_stage import BatchedModelStage
from cosmos_curate.pipelines.video.prompts import Prompt
from cosmos_curate.pipelines.video.tasks import ClipTask


class EnhanceCaptionStage(BatchedModelStage[CaptionEnhancer]):
    """Adds `enhanced_caption` to every captioned window; the original caption stays."""

    def __init__(
        self, enhancer: CaptionEnhancer, prompt: Prompt, batch_size: int = 32, gpus: float = 0.5
    ) -> None:
        super().__init__(enhancer, batch_size=batch_size, gpus=gpus)
        self.prompt = prompt

    def process_data(self, tasks: list[ClipTask]) -> list[ClipTask] | None:
        """Process a batch; see the class docstring."""
        live = [t for t in tasks if t.filtered_by is None]
        windows = [w for t in live for w in t.windows if w.caption]
        if not windows:
            return tasks
        enhanced = self._model.enhance([w.caption or "" for w in windows], self.prompt.text)
        for window, text in zip(windows, enhanced, strict=True):
            window.enhanced_caption = text
        for task in live:
            task.annotations.update(
                enhance_model=self._model.model_id,
                enhance_prompt_variant=self.prompt.name,
                enhance_prompt=self.prompt.text,
            )
        return tasks
