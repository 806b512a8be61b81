"""The `video-shard` pipeline: `video-split` clips -> bucketed webdataset tars (local or S3).

1. list the split output; drop the clips a `video-dedup` output removes at `--eps`;
2. read every clip's metadata (a runtime pipeline), plan the tars (`plan.py`), and store the
   plan's fingerprint in `plan.json` (a rerun with other inputs or options is refused);
3. write the tars not already there (a runtime pipeline, one task per tar);
4. write `wdinfo.json` per bucket, `wdinfo_list.csv` and `index.json` at the root.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from cosmos_curate.core.interfaces.stage_interface import CuratorStageSpec
from cosmos_curate.core.utils import settings
from cosmos_curate.pipelines.registry import RunOptions, register_pipeline
from cosmos_curate.pipelines.video.dedup import storage
from cosmos_curate.pipelines.video.dedup.runs import Runs
from cosmos_curate.pipelines.video.dedup.split_output import (
    VideoClips,
    group_videos,
    list_split_output,
)
from cosmos_curate.pipelines.video.dedup.stages import stage_options
from cosmos_curate.pipelines.video.shard import index
from cosmos_curate.pipelines.video.shard.dedup_filter import removed_ids
from cosmos_curate.pipelines.video.shard.options import VideoShardOptions
from cosmos_curate.pipelines.video.shard.plan import PlanSettings, ShardPlan, make_plan
from cosmos_curate.pipelines.video.shard.stages import (
    ClipInfoTask,
    ReadClipInfoStage,
    TarTask,
    WriteTarStage,
)
from cosmos_curate.pipelines.video.storage import StoragePathError, is_s3

MB = 1024 * 1024


class ShardPlanError(StoragePathError):
    """The output already holds shards planned from other inputs or options."""


@register_pipeline("video-shard", VideoShardOptions, "pack video-split clips into webdataset tars")
def run_video_shard(options: VideoShardOptions, run: RunOptions) -> Any:
    """Run the pipeline; tars and indexes under `options.output_path`."""
    return shard_videos(options, **run.as_kwargs())


def _chunks(videos: list[VideoClips], size: int) -> list[ClipInfoTask]:
    return [ClipInfoTask(index, group) for index, group in enumerate(group_videos(videos, size))]


def _check_plan(output_path: str, plan: ShardPlan) -> None:
    """Store the plan's fingerprint, or refuse when the output holds another plan."""
    path = storage.join(output_path, "plan.json")
    if storage.exists(path):
        old = json.loads(storage.read_bytes(path))
        if old.get("fingerprint") != plan.fingerprint:
            msg = (
                f"{output_path} holds shards planned from other clips or options; "
                "shard into a new --output-path (or delete it to start over)"
            )
            raise ShardPlanError(msg)
        return
    data = {"fingerprint": plan.fingerprint, "tars": [t.path for t in plan.tars]}
    storage.write_bytes(path, json.dumps(data, indent=1).encode())


def shard_videos(options: VideoShardOptions, **run_kwargs: Any) -> Any:
    """Library entry point: `run_kwargs` go to `execute_pipeline` (Ray address, ...)."""
    started = time.monotonic()
    videos = list_split_output(options.input_path)
    removed = removed_ids(options.dedup_path, options.eps) if options.dedup_path else set()
    kept = [v.subset(c for c in v.clip_ids if c not in removed) for v in videos]
    kept = [v for v in kept if v.clip_ids]
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
    if run_kwargs.get("failures_path") is None:
        run_kwargs["failures_path"] = str(
            settings.runs_root() / "video-shard" / run_id / "failures.jsonl"
            if is_s3(options.output_path)
            else Path(options.output_path).expanduser() / "failures" / f"{run_id}.jsonl"
        )
    runs = Runs(run_kwargs)
    stage = CuratorStageSpec(
        ReadClipInfoStage(options.input_path), num_workers=options.workers_per_stage,
        **stage_options(),
    )  # fmt: skip
    infos = runs.run(_chunks(kept, options.chunk_size), [stage], "ReadClipInfoStage")
    plan = make_plan(
        (e for t in infos for e in t.entries),
        PlanSettings(
            options.bucket_spec(),
            int(options.target_tar_size_mb * MB),
            options.max_tars_per_part,
            options.min_clips_per_tar,
            options.drop_small_shards,
        ),
    )
    _check_plan(options.output_path, plan)
    existing = {rel for rel, _ in storage.list_files(options.output_path)}
    by_video = {v.video_id: v for v in kept}
    todo = [
        TarTask(t, _videos_of(t.clip_ids, by_video)) for t in plan.tars if t.path not in existing
    ]
    written: list[TarTask] = []
    if todo:
        writer = CuratorStageSpec(
            WriteTarStage(options.input_path, options.output_path),
            num_workers=options.workers_per_stage, **stage_options(),
        )  # fmt: skip
        written = runs.run(todo, [writer], "WriteTarStage")
    index.write_indexes(
        options,
        plan,
        clips_found=sum(len(v.clip_ids) for v in videos),
        removed_by_dedup=len(removed & {c for v in videos for c in v.clip_ids}),
        written=written,
        run_info={
            "run_id": run_id,
            "failures": runs.num_failures,
            "failures_path": run_kwargs["failures_path"] if runs.num_failures else None,
            "wall_time_s": round(time.monotonic() - started, 3),
        },
    )
    return runs.combined_result()


def _videos_of(clip_ids: tuple[str, ...], by_video: dict[str, VideoClips]) -> list[VideoClips]:
    from cosmos_curate.pipelines.video.dedup.split_output import video_id_of

    wanted: dict[str, list[str]] = {}
    for cid in clip_ids:
        wanted.setdefault(video_id_of(cid), []).append(cid)
    return [by_video[v].subset(ids) for v, ids in sorted(wanted.items()) if v in by_video]
