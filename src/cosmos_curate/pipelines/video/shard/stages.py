"""The shard stages: read clip metadata for planning, write one planned tar per task."""

from __future__ import annotations

import json
import traceback

import attrs

from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)
from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.video.dedup import storage
from cosmos_curate.pipelines.video.dedup.split_output import VideoClips, read_video_embeddings
from cosmos_curate.pipelines.video.shard.kind import SamplesFn
from cosmos_curate.pipelines.video.shard.plan import ClipEntry, TarPlan
from cosmos_curate.pipelines.video.shard.split_paths import OutsideSplitOutputError, resolve_inside
from cosmos_curate.pipelines.video.shard.tar_writer import (
    clip_path_of,
    meta_path,
    samples,
    write_tar,
)


@attrs.define
class ClipInfoTask(PipelineTask):
    """A group of videos whose clips' metadata is read for planning."""

    index: int
    videos: list[VideoClips]
    entries: list[ClipEntry] = attrs.field(factory=list)
    failed_videos: list[tuple[str, str, str]] = attrs.field(factory=list)
    failed_clips: list[tuple[str, str]] = attrs.field(factory=list)
    """`(clip id, reason)` of clips left out of the plan (their mp4 is outside the input)."""

    def __repr__(self) -> str:
        first = self.videos[0].video_id if self.videos else "-"
        return f"ClipInfoTask(index={self.index}, videos={len(self.videos)}, first={first})"


@attrs.define
class TarTask(PipelineTask):
    """One planned tar; `videos` hold its clips (for their embeddings)."""

    plan: TarPlan
    videos: list[VideoClips]
    samples_written: int = 0
    bytes_written: int = 0
    skipped_existing: bool = False

    def __repr__(self) -> str:
        return f"TarTask({self.plan.path}, clips={len(self.plan.clip_ids)})"


def _entries(
    root: str, video: VideoClips, failed: list[tuple[str, str]], inputs: StorageOptions
) -> list[ClipEntry]:
    """The video's clips for the plan; a clip whose mp4 lies outside `root` goes to `failed`."""
    read_video_embeddings(root, video, inputs)  # a video with broken embeddings is left out now
    found = []
    for clip_id, size in zip(video.clip_ids, video.clip_bytes, strict=True):
        meta = json.loads(storage.read_bytes(resolve_inside(root, meta_path(clip_id)), inputs))
        try:
            resolve_inside(root, clip_path_of(clip_id, meta))
        except OutsideSplitOutputError as exc:
            failed.append((clip_id, f"clip_path refused: {exc}"))
            continue
        found.append(
            ClipEntry(
                clip_id,
                video.video_id,
                int(meta.get("width") or 0),
                int(meta.get("height") or 0),
                float(meta.get("duration_s") or 0.0),
                size,
            )
        )
    return found


class ReadClipInfoStage(CuratorStage[ClipInfoTask, ClipInfoTask]):
    """Reads width, height and duration of every clip and checks its embedding.

    A video whose metadata or embeddings cannot be read is listed in `failed_videos` (the
    driver writes its failure record) and left out of the plan, so no tar depends on it; so
    is a clip whose `clip_path` points outside the input (in `failed_clips`).
    """

    def __init__(self, input_path: str, inputs: StorageOptions) -> None:
        self.input_path = input_path
        self.inputs = inputs

    @property
    def resources(self) -> CuratorStageResource:
        """I/O bound: a quarter CPU."""
        return CuratorStageResource(cpus=0.25)

    def process_data(self, tasks: list[ClipInfoTask]) -> list[ClipInfoTask]:
        """Read each group's metadata."""
        for task in tasks:
            for video in task.videos:
                refused: list[tuple[str, str]] = []
                try:
                    task.entries += _entries(self.input_path, video, refused, self.inputs)
                    task.failed_clips += refused
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    task.failed_videos.append((video.video_id, error, traceback.format_exc()))
        return tasks


class WriteTarStage(CuratorStage[TarTask, TarTask]):
    """Writes a planned tar unless a finished one is already there (a resumed run).

    Reads items with `stores`' input options, writes tars with its output options; the
    tar's samples come from `samples` (a split output's clips unless given).
    """

    def __init__(
        self,
        paths: tuple[str, str],
        stores: tuple[StorageOptions, StorageOptions],
        samples_fn: SamplesFn = samples,
    ) -> None:
        self.input_path, self.output_path = paths
        self.inputs, self.outputs = stores
        self.samples_fn = samples_fn

    @property
    def resources(self) -> CuratorStageResource:
        """I/O bound: half a CPU."""
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[TarTask]) -> list[TarTask]:
        """Write each tar (or skip it when it exists)."""
        for task in tasks:
            destination = storage.join(self.output_path, task.plan.path)
            if storage.exists(destination, self.outputs):
                task.skipped_existing = True
                continue
            order = list(task.plan.clip_ids)
            task.samples_written, task.bytes_written = write_tar(
                destination,
                self.samples_fn(self.input_path, task.videos, order, self.inputs),
                self.outputs,
            )
        return tasks
