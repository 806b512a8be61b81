"""The on-screen text filter's options of `video-split` (upstream's `--artificial-text-*`)."""

from __future__ import annotations

import enum

import pydantic

from cosmos_curate.pipelines.video.split.text_tracks import TextRules


class TextFilterMode(enum.StrEnum):
    """Upstream's artificial-text filter modes (it has no score-only mode)."""

    ENABLE = "enable"
    DISABLE = "disable"


class TextFilterOptions(pydantic.BaseModel):
    """Overlay text detection: when text on a clip's frames drops it."""

    model_config = pydantic.ConfigDict(extra="forbid")

    artificial_text_filter: TextFilterMode = pydantic.Field(
        default=TextFilterMode.DISABLE,
        description="enable (drop clips with overlay text: subtitles, logos, tickers) | disable",
    )
    artificial_text_frame_interval: int = pydantic.Field(
        default=3, ge=1, description="check every N-th frame of a clip for text"
    )
    artificial_text_min_duration_frames: int = pydantic.Field(
        default=10, ge=1, description="frames a text box must stay for to count as overlay"
    )
    artificial_text_stability_iou_threshold: float = pydantic.Field(
        default=0.9,
        ge=0,
        le=1,
        description="mean IoU of a text box between checked frames to call it fixed (0-1)",
    )
    no_artificial_text_corner_detection: bool = pydantic.Field(
        default=False, description="do not flag clips for corner text (logos) alone"
    )
    artificial_text_corner_ratio: float = pydantic.Field(
        default=0.1,
        ge=0,
        le=1,
        description="flag clips with corner text on more than this share of checked frames",
    )
    ignore_artificial_text_corner_region: bool = pydantic.Field(
        default=False, description="ignore text in the corners (only other text can drop a clip)"
    )
    artificial_text_corner_x_margin: float = pydantic.Field(
        default=0.1, ge=0, le=0.5, description="corner zone width, share of the frame width"
    )
    artificial_text_corner_y_margin: float = pydantic.Field(
        default=0.1, ge=0, le=0.5, description="corner zone height, share of the frame height"
    )
    artificial_text_detection_use_cpu: bool = pydantic.Field(
        default=False, description="detect text on CPU even where a GPU is free"
    )
    artificial_text_gpus_per_worker: float = pydantic.Field(
        default=0.25,
        ge=0,
        description="GPUs per text detection worker (used with onnxruntime-gpu; CPU otherwise)",
    )

    def text_rules(self) -> TextRules:
        """When the filter calls text overlaid."""
        return TextRules(
            frame_interval=self.artificial_text_frame_interval,
            min_duration_frames=self.artificial_text_min_duration_frames,
            stability_iou=self.artificial_text_stability_iou_threshold,
            corner_detection=not self.no_artificial_text_corner_detection,
            corner_ratio=self.artificial_text_corner_ratio,
            ignore_corner_region=self.ignore_artificial_text_corner_region,
            corner_x_margin=self.artificial_text_corner_x_margin,
            corner_y_margin=self.artificial_text_corner_y_margin,
        )

    def text_filter_gpus(self) -> float:
        """GPUs per text detection worker (0 with `--artificial-text-detection-use-cpu`)."""
        return (
            0.0 if self.artificial_text_detection_use_cpu else self.artificial_text_gpus_per_worker
        )
