"""Writer: per clip an mp4, an embedding `.npy` and a metadata JSON; filtered clips get a record.

The JSON is written last, through a rename, so its presence means the clip is complete.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource
from cosmos_curate.pipelines.video.layout import (
    OutputLayout,
    write_bytes_atomic,
    write_json_atomic,
)
from cosmos_curate.pipelines.video.tasks import ClipTask


def clip_metadata(task: ClipTask, layout: OutputLayout, models: dict[str, str]) -> dict[str, Any]:
    """The JSON record of a written clip (paths relative to the output folder)."""
    has_embedding = task.embedding is not None
    return {
        "clip_id": task.clip_id,
        "video_id": task.video_id,
        "source_video": task.source,
        "source_meta": task.meta.to_dict(),
        "span": {
            "start_s": round(task.start_s, 6),
            "end_s": round(task.end_s, 6),
            "start_frame": task.start_frame,
            "end_frame": task.end_frame,
        },
        "duration_s": round(task.duration_s, 6),
        "num_frames": task.num_frames,
        "fps": task.meta.fps,
        "width": task.width,
        "height": task.height,
        "clip_path": layout.clip_mp4(task.clip_id).relative_to(layout.root).as_posix(),
        "scores": {"motion": task.motion_score, "aesthetic": task.aesthetic_score},
        "caption": task.caption,
        "embedding_path": (
            layout.clip_embedding(task.clip_id).relative_to(layout.root).as_posix()
            if has_embedding
            else None
        ),
        "embedding_dim": int(task.embedding.shape[0]) if task.embedding is not None else None,
        "frame_times_s": [round(t, 6) for t in task.frame_times_s],
        "models": models,
    }


def filtered_record(task: ClipTask) -> dict[str, Any]:
    """The JSON record of a clip a filter dropped."""
    return {
        "clip_id": task.clip_id,
        "video_id": task.video_id,
        "source_video": task.source,
        "span": {"start_s": round(task.start_s, 6), "end_s": round(task.end_s, 6)},
        "filtered_by": task.filtered_by,
        "scores": {"motion": task.motion_score, "aesthetic": task.aesthetic_score},
    }


class ClipWriterStage(CuratorStage[ClipTask, ClipTask]):
    """Writes each clip's files under the output folder and frees its payloads."""

    def __init__(self, output_path: str, models: dict[str, str] | None = None) -> None:
        self.layout = OutputLayout(output_path)
        self.models = dict(models or {})

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        # File writes: I/O bound.
        return CuratorStageResource(cpus=0.25)

    def process_data(self, tasks: list[ClipTask]) -> list[ClipTask] | None:
        """Process a batch; see the class docstring."""
        for task in tasks:
            if task.filtered_by is not None:
                write_json_atomic(self.layout.filtered_record(task.clip_id), filtered_record(task))
            else:
                if task.encoded is None:
                    msg = f"clip {task.clip_id} reached the writer without encoded video"
                    raise ValueError(msg)
                write_bytes_atomic(self.layout.clip_mp4(task.clip_id), task.encoded)
                if task.embedding is not None:
                    path = self.layout.clip_embedding(task.clip_id)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_name(f".{path.name}.tmp.npy")
                    np.save(tmp, task.embedding)
                    tmp.replace(path)
                write_json_atomic(
                    self.layout.clip_meta(task.clip_id),
                    clip_metadata(task, self.layout, self.models),
                )
            task.release_payloads()
            task.embedding = None
        return tasks
