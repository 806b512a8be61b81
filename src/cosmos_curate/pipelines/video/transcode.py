"""Transcode each clip of its source to H.264 mp4 bytes at the target resolution (CPU)."""

from __future__ import annotations

from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource
from cosmos_curate.pipelines.video import decode, sources
from cosmos_curate.pipelines.video.tasks import ClipTask


class TranscodeStage(CuratorStage[ClipTask, ClipTask]):
    """Decodes the clip's frame span, scales it, and encodes it with libx264."""

    def __init__(self, target_height: int | None = None) -> None:
        self.target_height = target_height

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        # Decode + x264 encode keep one core busy.
        return CuratorStageResource(cpus=1.0)

    def process_data(self, tasks: list[ClipTask]) -> list[ClipTask] | None:
        """Process a batch; see the class docstring."""
        for task in tasks:
            width, height = decode.scaled_size(
                task.meta.width, task.meta.height, self.target_height
            )
            frames = (
                frame
                for _, frame in decode.iter_frames(
                    sources.local_path(task.source),
                    task.start_frame,
                    task.end_frame,
                    width=width,
                    height=height,
                    fmt="yuv420p",
                )
            )
            encoded, count = decode.encode_h264(frames, task.meta.fps, width, height)
            if count == 0:
                span = f"[{task.start_frame}, {task.end_frame})"
                msg = f"clip {task.clip_id}: no frame decoded in {span}"
                raise decode.UnreadableVideoError(msg)
            task.encoded, task.num_frames = encoded, count
            task.width, task.height = width, height
        return tasks
