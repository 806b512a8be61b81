"""The shape every GPU model stage of `video-split` shares: a batch of clips per call."""

from __future__ import annotations

from typing import Generic, TypeVar

from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource
from cosmos_curate.pipelines.video.tasks import ClipTask

M = TypeVar("M", bound=ModelInterface)


class BatchedModelStage(CuratorStage[ClipTask, ClipTask], Generic[M]):
    """Runs `model` on `batch_size` clips per call, a quarter CPU and `gpus` per worker.

    Subclasses write `process_data`; the model's env, weights and setup come from `model`.
    """

    def __init__(self, model: M, *, batch_size: int, gpus: float) -> None:
        self._model = model
        self.batch_size = batch_size
        self.gpus = gpus

    @property
    def resources(self) -> CuratorStageResource:
        """A quarter CPU (the model does the work) and `gpus` of a GPU per worker."""
        return CuratorStageResource(cpus=0.25, gpus=self.gpus)

    @property
    def model(self) -> ModelInterface | None:
        """The model whose weights and env this stage uses."""
        return self._model

    @property
    def stage_batch_size(self) -> int:
        """Clips per call, so that one forward pass serves several clips."""
        return self.batch_size
