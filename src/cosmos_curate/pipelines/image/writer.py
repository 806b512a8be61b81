"""Writer: per image its original bytes, its embedding and, last, its metadata JSON.

Kept images go to `images/` and `metas/`, rejected ones to `filtered_images/` with the
filter and the reason (as the video flow's `filtered_clips/`). Every file is published
durably through the layout's storage and the JSON last, so its presence means the image is
complete, and a rerun skips it. The files of a call are published together
(`DataFolder.write_batch`): a durable write waits on the disk (two fsyncs a file, ~20 ms
here), so the call's images and embeddings are made durable at once and renamed in, then
its JSON records. A call takes up to `WRITE_BATCH` images: with one image a call, the disk
waits were most of the writer's time (2,000 images: 27 worker-s busy on Ray).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource
from cosmos_curate.pipelines.image.layout import ImageLayout
from cosmos_curate.pipelines.image.tasks import ImageTask

WRITE_BATCH = 32
"""Images per `process_data` call: their files share one durable flush."""


def filter_decisions(task: ImageTask, filters: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per configured filter, in order: passed, rejected (with why), or not run (after one)."""
    decisions: dict[str, dict[str, Any]] = {}
    rejected = False
    for name, settings in filters.items():
        if rejected:
            decisions[name] = {"passed": None, "reason": "not run: rejected earlier"}
        elif task.filtered_by == name:
            decisions[name] = {"passed": False, "reason": task.filter_reason, **settings}
            rejected = True
        else:
            decisions[name] = {"passed": True, **settings}
    return decisions


def image_metadata(
    task: ImageTask, layout: ImageLayout, models: dict[str, str], filters: dict[str, Any]
) -> dict[str, Any]:
    """The JSON record of an image (paths relative to the output folder)."""
    kept = task.filtered_by is None
    has_embedding = kept and task.embedding is not None
    return {
        "image_id": task.image_id,
        "source": task.source,
        "relative_path": task.relative_path,
        "image_path": (
            layout.image_file(task.image_id, task.extension)
            if kept
            else layout.filtered_image(task.image_id, task.extension)
        ),
        "width": task.width,
        "height": task.height,
        "format": task.format,
        "source_mode": task.mode,
        "exif_orientation": task.exif_orientation,
        "num_frames": task.num_frames,
        "num_bytes": task.num_bytes,
        "scores": {"aesthetic": task.aesthetic_score},
        "filters": filter_decisions(task, filters),
        "filtered_by": task.filtered_by,
        "filter_reason": task.filter_reason,
        "caption": task.caption,
        "has_caption": bool(task.caption),
        "embedding_path": layout.image_embedding(task.image_id) if has_embedding else None,
        "embedding_dim": (
            int(task.embedding.shape[0]) if has_embedding and task.embedding is not None else None
        ),
        "models": models,
        **task.annotations,  # embedding/caption stages: models, prompt variant and text
    }


def _npy_bytes(array: np.ndarray[Any, Any]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


class ImageWriterStage(CuratorStage[ImageTask, ImageTask]):
    """Writes each image's files under the output folder and frees its payloads."""

    def __init__(
        self,
        layout: ImageLayout,
        models: dict[str, str] | None = None,
        filters: dict[str, Any] | None = None,
    ) -> None:
        self.layout = layout
        self.models = dict(models or {})
        self.filters = dict(filters or {})

    @property
    def resources(self) -> CuratorStageResource:
        """A quarter CPU: file writes are I/O bound."""
        return CuratorStageResource(cpus=0.25)

    @property
    def stage_batch_size(self) -> int:
        """`WRITE_BATCH`: the runtime sends fewer when fewer are waiting."""
        return WRITE_BATCH

    def process_data(self, tasks: list[ImageTask]) -> list[ImageTask] | None:
        """Process a batch; see the module docstring."""
        for task in tasks:
            if task.data is None:
                msg = f"image {task.source} reached the writer without its bytes"
                raise ValueError(msg)
        files: list[tuple[str, bytes]] = []
        records: list[tuple[str, bytes]] = []
        for task in tasks:
            self._add(task, files, records)
        # The records last: one's presence means its image's other files are complete.
        self.layout.storage.write_batch([files, records])
        for task in tasks:
            task.release_payloads()
        return tasks

    def _add(
        self, task: ImageTask, files: list[tuple[str, bytes]], records: list[tuple[str, bytes]]
    ) -> None:
        """One image's files to `files` and its JSON record to `records`."""
        layout = self.layout
        assert task.data is not None  # checked for the whole call first
        record = image_metadata(task, layout, self.models, self.filters)
        files.append((record["image_path"], task.data))
        if task.filtered_by is not None:
            records.append((layout.filtered_image_record(task.image_id), layout.json_bytes(record)))
            return
        if task.embedding is not None:
            files.append((layout.image_embedding(task.image_id), _npy_bytes(task.embedding)))
        records.append((layout.image_meta(task.image_id), layout.json_bytes(record)))
