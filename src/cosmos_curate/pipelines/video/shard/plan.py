"""The shard plan: which clip goes into which tar, decided before anything is written.

Within a bucket clips are taken in clip-id order and cut into tars of about the target size
(a tar closes before the clip that would take it past the target; a clip larger than the
target gets a tar of its own); every `max_tars_per_part` tars start a new part folder.
Clips that fit no bucket go to the bucket `other` (or, with `skip_unbucketed`, into the
plan's `left_out` list with the reason, as do clips of a dropped small last tar). The
plan depends only on the clips, their sizes and the options, so a rerun plans the same tars;
its fingerprint is stored and checked so that a rerun never mixes two plans.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import attrs

from cosmos_curate.pipelines.video.shard.buckets import BucketSpec
from cosmos_curate.pipelines.video.shard.left_out import (
    DROPPED_SMALL_SHARD,
    SKIPPED_UNBUCKETED,
    LeftOut,
)

OTHER_BUCKET = "other"
"""The bucket folder of the clips that fit no resolution/aspect/duration bucket."""


@attrs.frozen
class ClipEntry:
    """What planning needs to know about one clip."""

    clip_id: str
    video_id: str
    width: int
    height: int
    duration_s: float | None
    """None for a still image (bucketed without a duration level)."""
    num_bytes: int


@attrs.frozen
class TarPlan:
    """One tar: its bucket, part, index and clips."""

    bucket: str
    part: int
    index: int
    clip_ids: tuple[str, ...]
    num_bytes: int

    @property
    def relative_path(self) -> str:
        """Path under the bucket folder: `part_000000/000000.tar`."""
        return f"part_{self.part:06d}/{self.index:06d}.tar"

    @property
    def path(self) -> str:
        """Path under the output root."""
        return f"{self.bucket}/{self.relative_path}"


@attrs.frozen
class ShardPlan:
    """Every tar, plus what was left out and why."""

    tars: tuple[TarPlan, ...]
    unbucketed: dict[str, int]
    """Clips that fit no bucket, by the list they missed (in `other` unless skipped)."""
    left_out: tuple[LeftOut, ...]
    """Clips the options keep out of every tar (skipped unbucketed, dropped small tars)."""
    fingerprint: str

    @property
    def dropped_small(self) -> int:
        """Clips left out with their bucket's small last tar (`--drop-small-shards`)."""
        return sum(1 for r in self.left_out if r.reason == DROPPED_SMALL_SHARD)

    def buckets(self) -> list[str]:
        """Bucket folders with at least one tar, sorted."""
        return sorted({t.bucket for t in self.tars})


@attrs.frozen
class PlanSettings:
    """The options that shape the plan."""

    spec: BucketSpec
    target_tar_bytes: int
    max_tars_per_part: int
    min_clips_per_tar: int = 1
    drop_small_shards: bool = False
    skip_unbucketed: bool = False


def _groups(entries: list[ClipEntry], target: int) -> Iterable[list[ClipEntry]]:
    group: list[ClipEntry] = []
    size = 0
    for entry in entries:
        if group and size + entry.num_bytes > target:
            yield group
            group, size = [], 0
        group.append(entry)
        size += entry.num_bytes
    if group:
        yield group


def _fingerprint(by_bucket: dict[str, list[ClipEntry]], settings: PlanSettings) -> str:
    digest = hashlib.sha256(repr(settings).encode())
    for bucket in sorted(by_bucket):
        for e in by_bucket[bucket]:
            digest.update(f"{bucket}|{e.clip_id}|{e.num_bytes}\n".encode())
    return digest.hexdigest()


def make_plan(entries: Iterable[ClipEntry], settings: PlanSettings) -> ShardPlan:
    """Bucket the clips and cut each bucket into tars and parts."""
    by_bucket: dict[str, list[ClipEntry]] = {}
    unbucketed: dict[str, int] = {}
    left_out: list[LeftOut] = []
    for entry in entries:
        bucket, reason = settings.spec.bucket_of(entry.width, entry.height, entry.duration_s)
        if bucket is None:
            unbucketed[reason] = unbucketed.get(reason, 0) + 1
            if settings.skip_unbucketed:
                detail = f"fits no {reason} bucket; --skip-unbucketed"
                left_out.append(LeftOut(entry.clip_id, SKIPPED_UNBUCKETED, detail))
                continue
            bucket = OTHER_BUCKET
        by_bucket.setdefault(bucket, []).append(entry)
    tars: list[TarPlan] = []
    for bucket in sorted(by_bucket):
        clips = sorted(by_bucket[bucket], key=lambda e: e.clip_id)
        by_bucket[bucket] = clips
        groups = list(_groups(clips, settings.target_tar_bytes))
        if settings.drop_small_shards and len(groups[-1]) < settings.min_clips_per_tar:
            # as upstream: only the bucket's last, partial tar
            small = groups.pop()
            detail = (
                f"{bucket}: last tar of {len(small)} clip(s), under --min-clips-per-tar "
                f"{settings.min_clips_per_tar}; --drop-small-shards"
            )
            left_out += [LeftOut(e.clip_id, DROPPED_SMALL_SHARD, detail) for e in small]
        for n, group in enumerate(groups):
            part, index = divmod(n, settings.max_tars_per_part)
            ids = tuple(e.clip_id for e in group)
            tars.append(TarPlan(bucket, part, index, ids, sum(e.num_bytes for e in group)))
    fingerprint = _fingerprint(by_bucket, settings)
    return ShardPlan(tuple(tars), unbucketed, tuple(left_out), fingerprint)
