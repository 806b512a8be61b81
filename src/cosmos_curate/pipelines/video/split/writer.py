"""Writer: per clip an mp4, an embedding `.npy` and a metadata JSON; filtered clips are kept.

A clip a filter dropped goes to `filtered_clips/` (its mp4 when it was transcoded, and its
metadata with `filtered_by` and `filter_reason`). Each file is published durably and the
JSON last, so its presence means the clip is complete, even after a power loss. Field
names follow upstream Cosmos-Curate's clip JSON where the meaning is the same
(see docs/VIDEO_PIPELINE.md).
"""

from __future__ import annotations

import io
import uuid
from typing import Any

import numpy as np

from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource
from cosmos_curate.pipelines.video.layout import OutputLayout
from cosmos_curate.pipelines.video.tasks import ClipTask


def upstream_fields(task: ClipTask, layout: OutputLayout, mp4_key: str | None) -> dict[str, Any]:
    """The fields upstream's clip JSON has with the same meaning (names as there)."""
    meta = task.meta
    return {
        "span_uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, task.clip_id)),
        "duration_span": [round(task.start_s, 6), round(task.end_s, 6)],
        "width_source": meta.width,
        "height_source": meta.height,
        "framerate_source": meta.fps,
        "clip_location": layout.url(mp4_key) if mp4_key else None,
        "framerate": task.out_fps or meta.fps,
        "video_codec": task.video_codec,
        "audio_codec": task.audio_codec,
        "num_bytes": len(task.encoded) if task.encoded is not None else None,
        "motion_score_mean_abs_diff": task.motion_score,
        "motion_score_global_mean": task.motion_global_mean,
        "motion_score_per_patch_min_256": task.motion_per_patch_min_256,
        "aesthetic_score": task.aesthetic_score,
        "has_caption": bool(task.caption),
        "valid": task.encoded is not None,
    }


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
        "clip_path": layout.clip_mp4(task.clip_id),
        "scores": {
            "motion": task.motion_score,
            "motion_global_mean": task.motion_global_mean,
            "motion_per_patch_min_256": task.motion_per_patch_min_256,
            "aesthetic": task.aesthetic_score,
        },
        "motion_method": task.motion_method,
        "caption": task.caption,
        "embedding_path": layout.clip_embedding(task.clip_id) if has_embedding else None,
        "embedding_dim": int(task.embedding.shape[0]) if task.embedding is not None else None,
        "frame_times_s": [round(t, 6) for t in task.frame_times_s],
        "models": models,
        "windows": [w.to_dict() for w in task.windows],
        **task.annotations,  # embedding/caption stages: models, prompts, previews
    }


def filtered_record(task: ClipTask, layout: OutputLayout, models: dict[str, str]) -> dict[str, Any]:
    """The JSON record of a clip a filter dropped: its metadata, the filter and why."""
    record = clip_metadata(task, layout, models)
    mp4 = layout.filtered_mp4(task.clip_id) if task.encoded is not None else None
    record.update(upstream_fields(task, layout, mp4))
    record.update(
        clip_path=mp4,
        embedding_path=None,
        filtered_by=task.filtered_by,
        filter_reason=task.filter_reason,
    )
    return record


def _npy_bytes(array: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


class ClipWriterStage(CuratorStage[ClipTask, ClipTask]):
    """Writes each clip's files under the output folder and frees its payloads."""

    def __init__(self, layout: OutputLayout, models: dict[str, str] | None = None) -> None:
        self.layout = layout
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
                self.write_filtered(task)
            else:
                self.write_clip(task)
            task.release_payloads()
            task.embedding = None
        return tasks

    def write_clip(self, task: ClipTask) -> None:
        """The mp4, the embedding and, last, the metadata of a kept clip."""
        layout = self.layout
        if task.encoded is None:
            msg = f"clip {task.clip_id} reached the writer without encoded video"
            raise ValueError(msg)
        layout.write_bytes(layout.clip_mp4(task.clip_id), task.encoded)
        if task.embedding is not None:
            layout.write_bytes(layout.clip_embedding(task.clip_id), _npy_bytes(task.embedding))
        record = clip_metadata(task, layout, self.models)
        record.update(upstream_fields(task, layout, layout.clip_mp4(task.clip_id)))
        layout.write_json(layout.clip_meta(task.clip_id), record)

    def write_filtered(self, task: ClipTask) -> None:
        """The mp4 (when transcoded) and the metadata of a clip a filter dropped."""
        layout = self.layout
        if task.encoded is not None:
            layout.write_bytes(layout.filtered_mp4(task.clip_id), task.encoded)
        layout.write_json(
            layout.filtered_record(task.clip_id), filtered_record(task, layout, self.models)
        )
