"""Options of `curate pipeline run image-annotate`.

Names are video-split's where the meaning is the same (`--aesthetic-threshold`,
`--no-embeddings`, `--skip-captions`, `--caption-model-id`, `--openai-*`, ...) and
upstream Cosmos-Curate's image pipeline's otherwise (`--input-image-path` is accepted for
`--input-path`, `--caption-prep-min-pixels`, `--semantic-filter*` and `--image-classifier*`
from `ImageSemanticOptions`); the embedding options are `ImageEmbeddingOptions`'s.
docs/IMAGE_PIPELINE.md puts them side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pydantic

from cosmos_curate.core.storage import is_remote
from cosmos_curate.models.aesthetics import AESTHETIC_MODEL_ID
from cosmos_curate.pipelines.image.captions import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS
from cosmos_curate.pipelines.image.decode import DEFAULT_MAX_PIXELS as DEFAULT_IMAGE_PIXELS
from cosmos_curate.pipelines.image.embedding_options import ImageEmbeddingOptions
from cosmos_curate.pipelines.image.layout import ImageLayout
from cosmos_curate.pipelines.image.prompts import IMAGE_CAPTION_PROMPTS
from cosmos_curate.pipelines.image.semantic_options import ImageSemanticOptions
from cosmos_curate.pipelines.video.prompts import Prompt, resolve_prompt
from cosmos_curate.pipelines.video.storage import CheckedPaths, StorageFlags


class ImageAnnotateOptions(StorageFlags, CheckedPaths, ImageEmbeddingOptions, ImageSemanticOptions):
    """Options of `curate pipeline run image-annotate`."""

    model_config = pydantic.ConfigDict(extra="forbid", populate_by_name=True)

    # `--help` groups the options (longest name prefix wins), as video-split's.
    option_panels: ClassVar[tuple[tuple[str, tuple[str, ...]], ...]] = (
        ("Input and output", ("input_path", "input_list", "output_path", "s3_", "input_s3",
                              "output_s3", "limit", "max_pixels", "load_")),
        ("Filters", ("min_side", "max_aspect_ratio", "aesthetic_threshold")),
        ("Semantic filter", ("semantic_filter",)),
        ("Image classifier", ("image_classifier",)),
        ("Embeddings", ("no_embeddings", "embedding_", "clip_model_id", "aesthetic_model_id")),
        ("Captions", ("skip_captions", "caption", "openai_")),
        ("Workers", ("workers_per_stage", "in_process")),
    )  # fmt: skip

    input_path: str | None = pydantic.Field(
        default=None,
        validation_alias=pydantic.AliasChoices("input_path", "input_image_path"),
        description="folder or s3://bucket/prefix of images, read recursively",
    )
    input_list: str | None = pydantic.Field(
        default=None,
        description="instead of --input-path: a file naming one image path or URL per line",
    )
    output_path: str = pydantic.Field(description="folder or s3://bucket/prefix for the output")
    limit: int | None = pydantic.Field(default=None, ge=1, description="process at most N images")
    max_pixels: int = pydantic.Field(
        default=DEFAULT_IMAGE_PIXELS,
        ge=1,
        description="refuse images with more pixels (decompression-bomb guard)",
    )
    load_cpus_per_worker: float = pydantic.Field(
        default=1.0, gt=0, description="CPUs per load (read + decode) worker"
    )
    min_side: int | None = pydantic.Field(
        default=None, ge=1, description="reject images whose shorter side is below N px"
    )
    max_aspect_ratio: float | None = pydantic.Field(
        default=None, ge=1, description="reject images whose long/short side ratio is above"
    )
    aesthetic_threshold: float | None = pydantic.Field(
        default=None, description="reject images whose aesthetic score is below (unset: keep all)"
    )
    aesthetic_model_id: str = pydantic.Field(
        default=AESTHETIC_MODEL_ID, description="aesthetic head checkpoint"
    )
    skip_captions: bool = pydantic.Field(default=False, description="do not caption images")
    caption_prompt_variant: str = pydantic.Field(
        default="default", description="named prompt: " + ", ".join(IMAGE_CAPTION_PROMPTS)
    )
    caption_prep_min_pixels: int = pydantic.Field(
        default=DEFAULT_MIN_PIXELS, ge=1, description="smaller images are upscaled to this area"
    )
    caption_prep_max_pixels: int = pydantic.Field(
        default=DEFAULT_MAX_PIXELS, ge=1, description="larger images are downscaled to this area"
    )
    caption_prep_cpus_per_worker: float = pydantic.Field(
        default=0.5, gt=0, description="CPUs per caption preparation worker"
    )
    workers_per_stage: int | None = pydantic.Field(
        default=None, ge=1, description="fixed workers per stage (unset: autoscale)"
    )
    in_process: bool | None = pydantic.Field(
        default=None,
        description="run the stages in this process without Ray, or on Ray with "
        "--no-in-process (unset: in process when no cluster is given, this machine has no GPU "
        "and at most 2 CPUs, and no stage needs its own environment)",
    )

    @pydantic.field_validator("input_list")
    @classmethod
    def _list_exists(cls, value: str | None) -> str | None:
        if value is not None and not is_remote(value) and not Path(value).expanduser().is_file():
            msg = f"--input-list {value}: no such file"
            raise ValueError(msg)
        return value

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> ImageAnnotateOptions:
        if (self.input_path is None) == (self.input_list is None):
            msg = "give one of --input-path (a folder or prefix) or --input-list (a list file)"
            raise ValueError(msg)
        if (
            self.input_path is not None
            and not is_remote(self.input_path)
            and not is_remote(self.output_path)
        ):
            source = Path(self.input_path).expanduser().resolve()
            target = Path(self.output_path).expanduser().resolve()
            if target == source or source in target.parents:
                msg = "--output-path must not be inside --input-path (outputs would be inputs)"
                raise ValueError(msg)
        if self.caption_prep_min_pixels > self.caption_prep_max_pixels:
            msg = "--caption-prep-min-pixels must not exceed --caption-prep-max-pixels"
            raise ValueError(msg)
        if not self.skip_captions:
            self.caption_prompt_resolved()
        return self

    def layout(self) -> ImageLayout:
        """The output tree."""
        return ImageLayout(self.output_path, self.output_storage)

    def caption_prompt_resolved(self) -> Prompt:
        """The caption prompt (name and text) this run uses."""
        return resolve_prompt(
            IMAGE_CAPTION_PROMPTS,
            self.caption_prompt_variant,
            self.caption_prompt,
            self.caption_prompts_file,
        )
