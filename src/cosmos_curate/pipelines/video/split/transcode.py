"""Transcode each clip of its source to mp4 (chosen encoder, audio kept) at the target size."""

from __future__ import annotations

from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource
from cosmos_curate.pipelines.video import sources
from cosmos_curate.pipelines.video.split.clip_encode import (
    EncodeSettings,
    check_encoder,
    encode_span,
)
from cosmos_curate.pipelines.video.storage import S3Config
from cosmos_curate.pipelines.video.tasks import ClipTask


class TranscodeStage(CuratorStage[ClipTask, ClipTask]):
    """Decodes the clip's frame span and its audio, scales, and encodes them (`clip_encode`).

    A hardware encoder (`h264_nvenc`) makes the stage ask for a fraction of a GPU, and its
    workers check at setup that the encoder opens on their node.
    """

    def __init__(
        self, settings: EncodeSettings, s3: S3Config | None = None, cpus: float = 1.0
    ) -> None:
        self.settings = settings
        self.s3 = s3 or S3Config()
        self.cpus = cpus

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        if self.settings.encoder.endswith("_nvenc"):
            # NVENC sessions are few per GPU: three workers share one.
            return CuratorStageResource(cpus=self.cpus, gpus=1 / 3)
        return CuratorStageResource(cpus=self.cpus)

    def stage_setup(self) -> None:
        """Check that the encoder exists and opens here (a clear error when it cannot)."""
        check_encoder(self.settings.encoder, open_it=True)

    def process_data(self, tasks: list[ClipTask]) -> list[ClipTask] | None:
        """Process a batch; see the class docstring."""
        for task in tasks:
            clip = encode_span(
                sources.local_path(task.source, self.s3),
                task.start_frame,
                task.end_frame,
                task.meta,
                self.settings,
            )
            task.encoded, task.num_frames = clip.data, clip.num_frames
            task.width, task.height = clip.width, clip.height
            task.video_codec, task.audio_codec, task.out_fps = (
                clip.video_codec,
                clip.audio_codec,
                clip.fps,
            )
        return tasks
