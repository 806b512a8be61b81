"""Ingest: read a video's metadata with PyAV and cut it into chunk tasks.

An unreadable file raises here, so the runtime turns it into a failure record (with the
source path in the task) and the run goes on.
"""

from __future__ import annotations

from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource
from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.video import decode, sources
from cosmos_curate.pipelines.video.layout import OutputLayout
from cosmos_curate.pipelines.video.split.shots import plan_chunks
from cosmos_curate.pipelines.video.tasks import ChunkTask, VideoTask


class VideoIngestStage(CuratorStage[VideoTask, ChunkTask]):
    """Video -> chunks of about `chunk_len_s` (None: the whole video is one chunk).

    Sources are read with `inputs` (the run's input storage options).
    """

    def __init__(
        self, layout: OutputLayout, chunk_len_s: float | None, inputs: StorageOptions
    ) -> None:
        self.layout = layout
        self.chunk_len_s = chunk_len_s
        self.inputs = inputs

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        # Opens the container and decodes one frame: mostly I/O wait.
        return CuratorStageResource(cpus=0.25)

    def process_data(self, tasks: list[VideoTask]) -> list[ChunkTask] | None:
        """Process a batch; see the class docstring."""
        chunks: list[ChunkTask] = []
        for task in tasks:
            meta = decode.probe(sources.local_path(task.source, self.inputs))
            task.meta = meta
            windows = plan_chunks(meta.num_frames, meta.fps, self.chunk_len_s)
            self.layout.write_json(
                self.layout.video_record(task.video_id),
                {
                    "video_id": task.video_id,
                    "source": task.source,
                    "num_chunks": len(windows),
                    **meta.to_dict(),
                },
            )
            chunks.extend(
                ChunkTask(
                    source=task.source,
                    video_id=task.video_id,
                    meta=meta,
                    index=i,
                    num_chunks=len(windows),
                    start_frame=a,
                    end_frame=b,
                )
                for i, (a, b) in enumerate(windows)
            )
        return chunks
