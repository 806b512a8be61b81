"""The splitting and transcoding half of `video-split`: its options and its stages.

`SplitTranscodeOptions` holds the options of ingest, splitting, transcoding, the motion
filter and storage (names follow upstream Cosmos-Curate where the meaning is the same; see
docs/VIDEO_PIPELINE.md for the mapping). `split_transcode_stages` builds ingest -> split ->
transcode -> motion filter for them.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

import pydantic

from cosmos_curate.core.interfaces.stage_interface import CuratorStage
from cosmos_curate.models.transnetv2 import TRANSNETV2_MODEL_ID, CpuPrecision, TransNetV2
from cosmos_curate.pipelines.video.layout import OutputLayout
from cosmos_curate.pipelines.video.split.clip_encode import EncodeSettings, check_encoder
from cosmos_curate.pipelines.video.split.ingest import VideoIngestStage
from cosmos_curate.pipelines.video.split.motion import (
    MotionFilterMode,
    MotionFilterStage,
    MotionThresholds,
)
from cosmos_curate.pipelines.video.split.shots import CutDetector
from cosmos_curate.pipelines.video.split.spans import LengthRules, MaxLengthMode
from cosmos_curate.pipelines.video.split.stages import (
    ChunkClips,
    ClipSplitStage,
    TransNetFramesStage,
    TransNetV2SplitStage,
)
from cosmos_curate.pipelines.video.split.transcode import TranscodeStage
from cosmos_curate.pipelines.video.storage import CheckedPaths, StorageFlags


class Encoder(enum.StrEnum):
    """Video encoders clips can be made with (each needs to be in this ffmpeg build)."""

    LIBX264 = "libx264"
    LIBOPENH264 = "libopenh264"
    LIBVPX_VP9 = "libvpx-vp9"
    LIBSVTAV1 = "libsvtav1"
    LIBAOM_AV1 = "libaom-av1"
    H264_NVENC = "h264_nvenc"


class SplittingAlgorithm(enum.StrEnum):
    """How videos are cut into clips."""

    TRANSNETV2 = "transnetv2"
    SHOT = "shot"
    FIXED_STRIDE = "fixed-stride"
    WHOLE_VIDEO = "whole-video"


class SplitTranscodeOptions(StorageFlags, CheckedPaths):
    """Input, output, splitting, transcoding and motion options of `video-split`."""

    model_config = pydantic.ConfigDict(extra="forbid")

    input_path: str = pydantic.Field(description="folder or s3://bucket/prefix of videos")
    output_path: str = pydantic.Field(description="folder or s3://bucket/prefix for the output")
    splitting_algorithm: SplittingAlgorithm = pydantic.Field(
        default=SplittingAlgorithm.TRANSNETV2,
        description=(
            "transnetv2 (neural shot detection; a fraction of a GPU, or CPU at ~75 frames/s "
            "per core) | shot (frame differences: the fast CPU choice) | fixed-stride | "
            "whole-video (each video one clip)"
        ),
    )
    transnetv2_threshold: float = pydantic.Field(
        default=0.4, gt=0, lt=1, description="TransNetV2 transition probability of a cut"
    )
    transnetv2_gpus_per_worker: float = pydantic.Field(
        default=0.25, ge=0, description="GPUs per TransNetV2 worker (CPU when the cluster has none)"
    )
    transnetv2_cpu_precision: CpuPrecision = pydantic.Field(
        default="fp32",
        description=(
            "TransNetV2 on CPU: fp32 (the reference's predictions) | bf16 (about half the CPU "
            "on processors with bf16 instructions; probabilities within ~0.005)"
        ),
    )
    shot_threshold: float = pydantic.Field(
        default=12.0, ge=0, description="shot: min mean frame difference (0-255) of a cut"
    )
    min_clip_len_s: float = pydantic.Field(default=2.0, ge=0, description="drop shorter clips")
    min_clip_len_frames: int = pydantic.Field(
        default=48, ge=0, description="transnetv2/shot: also drop clips with fewer frames"
    )
    max_clip_len_s: float = pydantic.Field(
        default=60.0, gt=0, description="transnetv2/shot: longer shots are cut (see mode)"
    )
    max_length_mode: MaxLengthMode = pydantic.Field(
        default=MaxLengthMode.STRIDE,
        description="stride (cut into max-length pieces) | truncate (keep the first max)",
    )
    crop_s: float = pydantic.Field(
        default=0.5, ge=0, description="transnetv2/shot: seconds cut off both ends of each shot"
    )
    clip_len_s: float = pydantic.Field(default=10.0, gt=0, description="fixed-stride clip length")
    clip_stride_s: float | None = pydantic.Field(
        default=None, gt=0, description="fixed-stride: start a clip every N s (unset: clip length)"
    )
    limit_clips: int | None = pydantic.Field(
        default=None, ge=1, description="at most N clips per video (the earliest)"
    )
    chunk_len_s: float = pydantic.Field(
        default=300.0, gt=0, description="video window one detection task decodes"
    )
    transcode_encoder: Encoder = pydantic.Field(
        default=Encoder.LIBX264,
        description=(
            "video encoder: libx264 | libopenh264 | libvpx-vp9 | libsvtav1 | libaom-av1 "
            "(when this ffmpeg has it) | h264_nvenc (needs an NVENC GPU)"
        ),
    )
    transcode_bitrate_mbps: float = pydantic.Field(
        default=4.0, gt=0, description="video bit rate of the clips, Mbit/s"
    )
    transcode_use_input_video_bit_rate: bool = pydantic.Field(
        default=False, description="encode at the input video's bit rate instead"
    )
    transcode_encoder_threads: int = pydantic.Field(
        default=1, ge=0, description="threads per encoder (0: ffmpeg decides)"
    )
    transcode_cpus_per_worker: float = pydantic.Field(
        default=1.0, gt=0, description="CPUs per transcode worker"
    )
    target_resolution: int | None = pydantic.Field(
        default=None, ge=16, description="output clip height in pixels (unset: source height)"
    )
    motion_filter: MotionFilterMode = pydantic.Field(
        default=MotionFilterMode.DISABLE,
        description=(
            "enable (drop low-motion clips, see the thresholds) | score-only (score, keep all) "
            "| disable. Default changed to disable (was: drop below 0.5), as upstream"
        ),
    )
    motion_global_mean_threshold: float = pydantic.Field(
        default=0.00098,
        ge=0,
        description="motion vectors: drop clips whose mean motion (px / (w + h)) is below",
    )
    motion_per_patch_min_256_threshold: float = pydantic.Field(
        default=0.000001,
        ge=0,
        description="motion vectors: drop clips whose least-moving 256x256 patch is below",
    )
    motion_threshold: float = pydantic.Field(
        default=0.5,
        ge=0,
        description=(
            "codecs without motion vectors (VP9, AV1): drop clips whose mean luma change "
            "(0-255) is below"
        ),
    )
    limit: int | None = pydantic.Field(default=None, ge=1, description="process at most N videos")

    @pydantic.model_validator(mode="after")
    def _lengths_ordered(self) -> SplitTranscodeOptions:
        if self.min_clip_len_s > self.max_clip_len_s:
            msg = "min_clip_len_s must not exceed max_clip_len_s"
            raise ValueError(msg)
        return self

    @pydantic.field_validator("transcode_encoder")
    @classmethod
    def _encoder_in_ffmpeg(cls, value: Encoder) -> Encoder:
        check_encoder(value.value)  # the node's device is checked by the workers at setup
        return value

    def layout(self) -> OutputLayout:
        """The output tree."""
        return OutputLayout(self.output_path, self.output_storage)

    def encode_settings(self) -> EncodeSettings:
        """How clips are encoded."""
        return EncodeSettings(
            encoder=str(self.transcode_encoder),
            bitrate_mbps=self.transcode_bitrate_mbps,
            use_input_bit_rate=self.transcode_use_input_video_bit_rate,
            threads=self.transcode_encoder_threads,
            target_height=self.target_resolution,
        )

    def motion_thresholds(self) -> MotionThresholds:
        """When the motion filter calls a clip low-motion."""
        return MotionThresholds(
            global_mean=self.motion_global_mean_threshold,
            per_patch_min_256=self.motion_per_patch_min_256_threshold,
            luma_difference=self.motion_threshold,
        )

    def length_rules(self) -> LengthRules:
        """The clip length rules of the shot detectors."""
        return LengthRules(
            min_s=self.min_clip_len_s,
            max_s=self.max_clip_len_s,
            min_frames=self.min_clip_len_frames,
            max_mode=self.max_length_mode,
            crop_s=self.crop_s,
        )

    def chunk_len(self) -> float | None:
        """Detection window per task (None: the whole video).

        Only the detectors decode, and a per-video clip limit needs the whole video at once.
        """
        detecting = self.splitting_algorithm in (
            SplittingAlgorithm.TRANSNETV2,
            SplittingAlgorithm.SHOT,
        )
        return self.chunk_len_s if detecting and self.limit_clips is None else None


def split_stages(
    options: SplitTranscodeOptions, weights_root: Path
) -> list[CuratorStage[Any, Any]]:
    """The stages that turn a chunk into clip tasks, for the chosen algorithm."""
    layout = options.layout()
    clips = ChunkClips(layout, options.limit_clips, options.input_storage)
    algorithm = options.splitting_algorithm
    if algorithm is SplittingAlgorithm.TRANSNETV2:
        model = TransNetV2(
            TRANSNETV2_MODEL_ID, weights_root, cpu_precision=options.transnetv2_cpu_precision
        )
        return [
            TransNetFramesStage(options.input_storage),
            TransNetV2SplitStage(
                clips,
                model,
                options.length_rules(),
                threshold=options.transnetv2_threshold,
                gpus=options.transnetv2_gpus_per_worker,
            ),
        ]
    return [
        ClipSplitStage(
            clips,
            algorithm.value,
            options.length_rules(),
            clip_len_s=options.clip_len_s,
            stride_s=options.clip_stride_s,
            detector=CutDetector(min_score=options.shot_threshold),
        )
    ]


def split_transcode_stages(
    options: SplitTranscodeOptions, weights_root: Path
) -> list[CuratorStage[Any, Any]]:
    """Ingest -> split -> transcode -> motion filter (left out when disabled)."""
    stages: list[CuratorStage[Any, Any]] = [
        VideoIngestStage(options.layout(), options.chunk_len(), options.input_storage),
        *split_stages(options, weights_root),
        TranscodeStage(
            options.encode_settings(), options.input_storage, options.transcode_cpus_per_worker
        ),
    ]
    if options.motion_filter is not MotionFilterMode.DISABLE:
        drop = options.motion_filter is MotionFilterMode.ENABLE
        stages.append(MotionFilterStage(options.motion_thresholds(), drop=drop))
    return stages
