"""Writer: per image its original bytes, its embedding and, last, its metadata JSON.

Kept images go to `images/` and `metas/`, rejected ones to `filtered_images/` with the
filter and the reason (as the video flow's `filtered_clips/`). Every file is published
durably through the layout's storage and the JSON last, so its presence means the image is
complete, and a rerun skips it. The images of a call are written by `WRITE_THREADS` threads
at once (each image's files in that order): a durable write waits on the disk (two fsyncs),
not on the CPU, and waits overlap.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource
from cosmos_curate.pipelines.image.layout import ImageLayout
from cosmos_curate.pipelines.image.tasks import ImageTask

WRITE_THREADS = 8
"""Images of one call written at once (a file's durable write is ~20 ms of fsync waits here,
a few ms of them at 8 at once)."""


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

    def process_data(self, tasks: list[ImageTask]) -> list[ImageTask] | None:
        """Process a batch; see the module docstring."""
        for task in tasks:
            if task.data is None:
                msg = f"image {task.source} reached the writer without its bytes"
                raise ValueError(msg)
        if len(tasks) == 1:
            self._write(tasks[0])
        else:
            with ThreadPoolExecutor(min(WRITE_THREADS, len(tasks))) as pool:
                list(pool.map(self._write, tasks))  # list(): the first error is raised
        return tasks

    def _write(self, task: ImageTask) -> None:
        """One image's files, the JSON last; then its payloads are freed."""
        layout = self.layout
        assert task.data is not None  # checked for the whole call first
        record = image_metadata(task, layout, self.models, self.filters)
        layout.write_bytes(record["image_path"], task.data)
        if task.filtered_by is not None:
            layout.write_json(layout.filtered_image_record(task.image_id), record)
        else:
            if task.embedding is not None:
                layout.write_bytes(
                    layout.image_embedding(task.image_id), _npy_bytes(task.embedding)
                )
            layout.write_json(layout.image_meta(task.image_id), record)
        task.release_payloads()
