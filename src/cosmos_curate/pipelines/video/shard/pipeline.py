"""The `video-shard` pipeline: `video-split` clips -> bucketed webdataset tars (local or S3).

1. list the split output; drop the clips a `video-dedup` output removes at `--eps`;
2. read every clip's metadata (a runtime pipeline), plan the tars (`plan.py`), and store the
   plan's fingerprint in `plan.json` (a rerun with other inputs or options is refused);
3. write the tars not already there (a runtime pipeline, one task per tar);
4. list every kept clip no tar holds, with the reason, in `not_written.jsonl`, and write
   `wdinfo.json` per bucket, `wdinfo_list.csv` and `index.json` at the root.

A kept clip (one dedup did not remove) is in a tar, or it is listed and has a failure
record, so the run exits 3: nothing is left out silently.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Protocol

from cosmos_curate.core.interfaces.stage_interface import CuratorStageSpec
from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.registry import RunOptions, register_pipeline
from cosmos_curate.pipelines.run_setup import bind_run
from cosmos_curate.pipelines.sketch import PipelineSketch, sketch_inputs
from cosmos_curate.pipelines.video.dedup import storage
from cosmos_curate.pipelines.video.dedup.runs import Runs
from cosmos_curate.pipelines.video.dedup.split_output import (
    VideoClips,
    group_videos,
    list_split_output,
    summarize_split_output,
)
from cosmos_curate.pipelines.video.dedup.stages import stage_options
from cosmos_curate.pipelines.video.shard import index, left_out
from cosmos_curate.pipelines.video.shard.buckets import BucketSpec
from cosmos_curate.pipelines.video.shard.dedup_filter import removed_ids
from cosmos_curate.pipelines.video.shard.index import IndexOptions
from cosmos_curate.pipelines.video.shard.kind import ShardKind
from cosmos_curate.pipelines.video.shard.left_out import LeftOut
from cosmos_curate.pipelines.video.shard.options import VideoShardOptions
from cosmos_curate.pipelines.video.shard.plan import PlanSettings, ShardPlan, make_plan
from cosmos_curate.pipelines.video.shard.stages import (
    ClipInfoTask,
    ReadClipInfoStage,
    TarTask,
    WriteTarStage,
)
from cosmos_curate.pipelines.video.shard.tar_writer import samples
from cosmos_curate.pipelines.video.storage import StoragePathError
from cosmos_curate.presentation.format import first_line

MB = 1024 * 1024
log = logging.getLogger(__name__)


class ShardPlanError(StoragePathError):
    """The output already holds shards planned from other inputs or options."""


VIDEO = ShardKind(
    "video-shard", "clips", "clip", "video", "video-dedup", left_out.CLIP_PATH_REFUSED,
    tuple(index.DATA_KEYS), list_split_output, ReadClipInfoStage, samples,
)  # fmt: skip


class ShardSettings(IndexOptions, Protocol):
    """The options a shard run reads (video-shard's and image-shard's have them)."""

    input_path: str
    target_tar_size_mb: float
    drop_small_shards: bool
    skip_unbucketed: bool
    chunk_size: int
    workers_per_stage: int | None

    @property
    def input_storage(self) -> StorageOptions:
        """How the input is reached."""

    @property
    def min_clips_per_tar(self) -> int:
        """See `--drop-small-shards`."""

    def bucket_spec(self) -> BucketSpec:
        """The bucket lists."""


def describe_video_shard(options: VideoShardOptions) -> PipelineSketch:
    """The two runs' stages and the videos a run would read (`--dry-run`); creates nothing."""
    inputs = options.input_storage
    read = ReadClipInfoStage(options.input_path, inputs)
    write = WriteTarStage(
        (options.input_path, options.output_path), (inputs, options.output_storage)
    )
    found, problems = sketch_inputs(lambda: summarize_split_output(options.input_path, inputs))
    runs = tuple(
        (CuratorStageSpec(s, num_workers=options.workers_per_stage, **stage_options()),)
        for s in (read, write)
    )
    return PipelineSketch(runs, found, options.output_path, problems)


@register_pipeline(
    "video-shard",
    VideoShardOptions,
    "pack video-split clips into webdataset tars",
    describe=describe_video_shard,
)
def run_video_shard(options: VideoShardOptions, run: RunOptions) -> Any:
    """Run the pipeline; tars and indexes under `options.output_path`."""
    return shard_videos(options, run)


def _chunks(videos: list[VideoClips], size: int) -> list[ClipInfoTask]:
    return [ClipInfoTask(index, group) for index, group in enumerate(group_videos(videos, size))]


def _check_plan(output_path: str, plan: ShardPlan, outputs: StorageOptions) -> None:
    """Store the plan's fingerprint, or refuse when the output holds another plan."""
    path = storage.join(output_path, "plan.json")
    if storage.exists(path, outputs):
        old = json.loads(storage.read_bytes(path, outputs))
        if old.get("fingerprint") != plan.fingerprint:
            msg = (
                f"{output_path} holds shards planned from other clips or options; "
                "shard into a new --output-path (or delete it to start over)"
            )
            raise ShardPlanError(msg)
        return
    data = {"fingerprint": plan.fingerprint, "tars": [t.path for t in plan.tars]}
    storage.write_bytes(path, json.dumps(data, indent=1).encode(), outputs)


def _plan(options: ShardSettings, infos: list[ClipInfoTask]) -> ShardPlan:
    return make_plan(
        (e for t in infos for e in t.entries),
        PlanSettings(
            options.bucket_spec(),
            int(options.target_tar_size_mb * MB),
            options.max_tars_per_part,
            options.min_clips_per_tar,
            options.drop_small_shards,
            options.skip_unbucketed,
        ),
    )


def _write_tars(
    options: ShardSettings, kind: ShardKind, plan: ShardPlan, kept: list[VideoClips], runs: Runs
) -> list[TarTask]:
    """Write the planned tars that are not there yet; returns the write stage's outputs."""
    existing = {rel for rel, _ in storage.list_files(options.output_path, options.output_storage)}
    group_of = {c: v.video_id for v in kept for c in v.clip_ids}
    by_group = {v.video_id: v for v in kept}
    todo = [
        TarTask(t, _groups_of(t.clip_ids, group_of, by_group))
        for t in plan.tars
        if t.path not in existing
    ]
    if not todo:
        return []
    writer = CuratorStageSpec(
        WriteTarStage(
            (options.input_path, options.output_path),
            (options.input_storage, options.output_storage),
            kind.samples,
        ),
        num_workers=options.workers_per_stage, **stage_options(),
    )  # fmt: skip
    written: list[TarTask] = runs.run(todo, [writer], "WriteTarStage")
    return written


def _not_written(
    options: ShardSettings,
    refused: str,
    plan: ShardPlan,
    infos: list[ClipInfoTask],
    kept: list[VideoClips],
) -> list[LeftOut]:
    """Every kept item that no tar holds now, with the reason (`refused`: a path outside)."""
    existing = {rel for rel, _ in storage.list_files(options.output_path, options.output_storage)}
    known = {r.clip_id: r for r in plan.left_out}
    for task in infos:
        for clip_id, why in task.failed_clips:
            known[clip_id] = LeftOut(clip_id, refused, why)
    for tar in plan.tars:
        if tar.path not in existing:
            detail = f"{tar.path} was not written (see the failure records); a rerun retries it"
            known.update({c: LeftOut(c, left_out.TAR_NOT_WRITTEN, detail) for c in tar.clip_ids})
    errors = {vid: first_line(err) for t in infos for vid, err, _ in t.failed_videos}
    planned = {c for t in plan.tars if t.path in existing for c in t.clip_ids}
    found = []
    for video in kept:
        for clip_id in video.clip_ids:
            if clip_id in known:
                found.append(known[clip_id])
            elif clip_id not in planned:  # its video (or its whole metadata task) failed
                why = errors.get(video.video_id, "its metadata could not be read")
                found.append(LeftOut(clip_id, left_out.UNREADABLE, why))
    return found


def _account(
    options: ShardSettings,
    kind: ShardKind,
    not_written: list[LeftOut],
    runs: Runs,
    failures_path: str,
) -> str:
    """Publish the list; failure records for items no other record covers; returns its path."""
    path = left_out.write_list(
        options.output_path, not_written, options.output_storage, kind.id_key
    )
    own = [r for r in not_written if r.reason in left_out.RECORDED_BY_SHARD]
    read_stage = type(kind.read_stage(options.input_path, options.input_storage)).__name__
    left_out.append_failure_records(
        Path(failures_path), own, kind=kind.item, stages=(read_stage, f"{kind.pipeline} plan")
    )
    runs.video_failures += len(own)  # counted with the runtime's records: exit 3
    if not_written:
        by_reason = ", ".join(f"{k}: {v}" for k, v in left_out.counts(not_written).items())
        log.warning(
            "%s: %d kept %s not written (%s), listed in %s",
            kind.pipeline, len(not_written), kind.noun, by_reason, path,
        )  # fmt: skip
    return path


def shard_videos(options: VideoShardOptions, run_options: RunOptions | None = None) -> Any:
    """Library entry point: `run_options` say how to run (Ray address, ...; `RunOptions`).

    Returns the run's result; its `num_failures` counts every failure record, including one
    per kept clip the plan leaves out (skipped, dropped, or its mp4 outside the input).
    """
    return shard(options, VIDEO, run_options)


def shard(options: ShardSettings, kind: ShardKind, run_options: RunOptions | None) -> Any:
    """A shard run of `kind` (see the module docstring); `run_options` as `shard_videos`'."""
    started = time.monotonic()
    inputs = options.input_storage
    videos = kind.list_groups(options.input_path, inputs)
    removed = (
        removed_ids(options.dedup_path, options.eps, inputs, kind.dedup_pipeline)
        if options.dedup_path
        else set()
    )
    kept = [v.subset(c for c in v.clip_ids if c not in removed) for v in videos]
    kept = [v for v in kept if v.clip_ids]
    run, run_options = bind_run(kind.pipeline, run_options, options.output_path)
    runs = Runs(run_options, kind=kind.group)
    try:
        stage = CuratorStageSpec(
            kind.read_stage(options.input_path, inputs), num_workers=options.workers_per_stage,
            **stage_options(),
        )  # fmt: skip
        read_name = type(stage.stage).__name__
        infos = runs.run(_chunks(kept, options.chunk_size), [stage], read_name)
        plan = _plan(options, infos)
        _check_plan(options.output_path, plan, options.output_storage)
        written = _write_tars(options, kind, plan, kept, runs)
        not_written = _not_written(options, kind.refused, plan, infos, kept)
        _account(options, kind, not_written, runs, str(run_options.failures_path))
        index.write_indexes(
            options,
            plan,
            noun=kind.noun,
            data_keys=kind.data_keys,
            clips_found=sum(len(v.clip_ids) for v in videos),
            removed_by_dedup=len(removed & {c for v in videos for c in v.clip_ids}),
            written=written,
            not_written=not_written,
            run_info={
                "run_id": run.id,
                "failures": runs.num_failures,
                "failures_path": str(runs.failures_path) if runs.failures_path else None,
                "wall_time_s": round(time.monotonic() - started, 3),
            },
        )
    finally:
        runs.close()
    return runs.combined_result()


def _groups_of(
    clip_ids: tuple[str, ...], group_of: dict[str, str], by_group: dict[str, VideoClips]
) -> list[VideoClips]:
    """The groups holding `clip_ids`, each cut down to those ids, in group-id order."""
    wanted: dict[str, list[str]] = {}
    for cid in clip_ids:
        if cid in group_of:
            wanted.setdefault(group_of[cid], []).append(cid)
    return [by_group[v].subset(ids) for v, ids in sorted(wanted.items())]
