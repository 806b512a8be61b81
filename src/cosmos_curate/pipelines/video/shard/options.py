"""Options of `curate pipeline run video-shard` (read by the pipeline and the index writer)."""

from __future__ import annotations

import pydantic

from cosmos_curate.pipelines.video.shard.buckets import BucketSpec, parse_ratio
from cosmos_curate.pipelines.video.storage import StorageFlags


class VideoShardOptions(StorageFlags):
    """Options of `curate pipeline run video-shard`."""

    model_config = pydantic.ConfigDict(extra="forbid")

    input_path: str = pydantic.Field(description="video-split output folder or s3:// prefix")
    output_path: str = pydantic.Field(description="folder or s3:// prefix for the shards")
    dedup_path: str | None = pydantic.Field(
        default=None,
        description="video-dedup output: leave out its duplicates (read with the input's profile)",
    )
    eps: float = pydantic.Field(default=0.01, gt=0, lt=1, description="dedup eps to apply")
    target_tar_size_mb: float = pydantic.Field(default=500, gt=0, description="tar size target")
    max_tars_per_part: int = pydantic.Field(default=100, ge=1, description="tars per part folder")
    min_clips_per_tar: int = pydantic.Field(default=1, ge=1, description="see --drop-small-shards")
    drop_small_shards: bool = pydantic.Field(
        default=False,
        description="drop a bucket's last tar below --min-clips-per-tar (listed, exit 3)",
    )
    skip_unbucketed: bool = pydantic.Field(
        default=False,
        description="leave out clips that fit no bucket instead of the `other` bucket "
        "(listed, exit 3)",
    )
    resolutions: list[int] = pydantic.Field(
        default=[1080, 720], description="resolution buckets (shorter side; below: bucket 0)"
    )
    aspect_ratios: list[str] = pydantic.Field(
        default=["9:16", "3:4", "1:1", "4:3", "16:9"], description="aspect-ratio buckets"
    )
    duration_buckets_s: list[float] = pydantic.Field(
        default=[5.0, 10.0, 30.0], description="duration bucket edges (shorter: bucket `other`)"
    )
    chunk_size: int = pydantic.Field(
        default=10_000, ge=1, description="clips per metadata-reading task"
    )
    workers_per_stage: int | None = pydantic.Field(
        default=None, ge=1, description="fixed workers per stage (unset: autoscale)"
    )

    @pydantic.model_validator(mode="after")
    def _buckets_valid(self) -> VideoShardOptions:
        self.bucket_spec()
        return self

    def bucket_spec(self) -> BucketSpec:
        """The bucket lists as a `BucketSpec` (raises ValueError when malformed)."""
        return BucketSpec(
            tuple(self.resolutions),
            tuple(parse_ratio(r) for r in self.aspect_ratios),
            tuple(self.duration_buckets_s),
        )
