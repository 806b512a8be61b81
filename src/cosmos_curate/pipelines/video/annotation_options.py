"""The embedding and caption options of `video-split` (mixed into `VideoSplitOptions`).

Names follow Cosmos-Curate's splitting pipeline where the meaning is the same
(`--embedding-algorithm`, `--captioning-window-size`, ...); docs/VIDEO_PIPELINE.md puts the
two side by side.
"""

from __future__ import annotations

import enum
import os
import re

import pydantic

from cosmos_curate.models.caption_enhancer import ENHANCE_MODEL_ID
from cosmos_curate.models.captioner import CAPTION_MODEL_ID
from cosmos_curate.models.openai_captioner import AUTO_MODEL, DEFAULT_API_KEY_ENV
from cosmos_curate.models.video_embedder import VIDEO_EMBEDDING_MODELS
from cosmos_curate.pipelines.video.prompts import (
    CAPTION_PROMPTS,
    ENHANCE_PROMPTS,
    Prompt,
    resolve_prompt,
)


class EmbeddingAlgorithm(enum.StrEnum):
    """Which model embeds clips: CLIP (mean of frame embeddings) or a video model."""

    CLIP = "clip"
    COSMOS_EMBED1_224P = "cosmos-embed1-224p"
    COSMOS_EMBED1_336P = "cosmos-embed1-336p"
    COSMOS_EMBED1_448P = "cosmos-embed1-448p"


class CaptioningAlgorithm(enum.StrEnum):
    """Where captions come from: a local VLM, or a served one over the OpenAI API."""

    LOCAL = "local"
    OPENAI = "openai"


class EmbeddingOptions(pydantic.BaseModel):
    """Clip embeddings."""

    model_config = pydantic.ConfigDict(extra="forbid")

    no_embeddings: bool = pydantic.Field(
        default=False, description="write no embeddings (.npy, parquet)"
    )
    embedding_algorithm: EmbeddingAlgorithm = pydantic.Field(
        default=EmbeddingAlgorithm.CLIP,
        description=" | ".join(EmbeddingAlgorithm),
    )
    embedding_model_id: str | None = pydantic.Field(
        default=None, description="checkpoint of the video embedding model (unset: the algorithm's)"
    )
    embedding_sampling_fps: float = pydantic.Field(
        default=2.0, gt=0, description="frames per second a video embedding model samples"
    )
    embedding_batch_size: int = pydantic.Field(
        default=16, ge=1, description="clips per embedding forward pass"
    )
    embedding_gpus_per_worker: float = pydantic.Field(
        default=0.25, gt=0, description="GPUs per embedding worker"
    )

    @property
    def video_embedding_model_id(self) -> str | None:
        """The video model's checkpoint, or None for CLIP."""
        if self.embedding_algorithm is EmbeddingAlgorithm.CLIP:
            return None
        return self.embedding_model_id or VIDEO_EMBEDDING_MODELS[self.embedding_algorithm.value]


class CaptionBackendOptions(pydantic.BaseModel):
    """The captioning model and where it runs: a local VLM or an OpenAI-compatible server.

    Shared by video-split and image-annotate (the same flags, the same checks).
    """

    model_config = pydantic.ConfigDict(extra="forbid")

    captioning_algorithm: CaptioningAlgorithm = pydantic.Field(
        default=CaptioningAlgorithm.LOCAL,
        description="local (a VLM in the pipeline) | openai (a served model, see --openai-*)",
    )
    caption_model_id: str = pydantic.Field(default=CAPTION_MODEL_ID, description="VLM checkpoint")
    caption_prompt: str | None = pydantic.Field(
        default=None, description="prompt text (overrides --caption-prompt-variant)"
    )
    caption_prompts_file: str | None = pydantic.Field(
        default=None, description="JSON file of {name: prompt} adding prompt variants"
    )
    caption_max_tokens: int = pydantic.Field(default=128, ge=1, description="caption length cap")
    caption_batch_size: int = pydantic.Field(
        default=8, ge=1, description="clips (images) per VLM batch"
    )
    caption_gpus: float = pydantic.Field(default=0.75, gt=0, description="GPUs per caption worker")
    openai_base_url: str | None = pydantic.Field(
        default=None, description="OpenAI-compatible endpoint, e.g. http://host:8000/v1"
    )
    openai_model_name: str = pydantic.Field(
        default=AUTO_MODEL, description="served model name (auto: the first at /models)"
    )
    openai_api_key_env: str = pydantic.Field(
        default=DEFAULT_API_KEY_ENV, description="environment variable holding the API key"
    )
    openai_caption_retries: int = pydantic.Field(
        default=3, ge=0, description="retries per request"
    )
    openai_retry_delay_seconds: float = pydantic.Field(
        default=1.0, ge=0, description="delay between retries"
    )
    openai_max_concurrent: int = pydantic.Field(
        default=8, ge=1, description="requests in flight per caption worker"
    )

    @pydantic.model_validator(mode="after")
    def _backend_usable(self) -> CaptionBackendOptions:
        if self.captioning_algorithm is CaptioningAlgorithm.OPENAI and not self.openai_base_url:
            msg = "--captioning-algorithm openai needs --openai-base-url"
            raise ValueError(msg)
        if self.captioning_algorithm is CaptioningAlgorithm.OPENAI:
            check_api_key_env(self.openai_api_key_env)
        return self


class CaptionOptions(CaptionBackendOptions):
    """Caption windows, prompts, enhancement and previews (the backend: see the base)."""

    skip_captions: bool = pydantic.Field(default=False, description="do not caption clips")
    caption_prompt_variant: str = pydantic.Field(
        default="default", description="named prompt: " + ", ".join(CAPTION_PROMPTS)
    )
    captioning_window_size: int = pydantic.Field(
        default=256, ge=1, description="frames per caption window"
    )
    captioning_remainder_threshold: int = pydantic.Field(
        default=128, ge=0, description="a shorter last piece joins the previous window"
    )
    captioning_sampling_fps: float = pydantic.Field(
        default=2.0, gt=0, description="frames per second shown to the captioner"
    )
    caption_frames: int | None = pydantic.Field(
        default=None, ge=1, description="at most this many frames per window (unset: all)"
    )
    enhance_captions: bool = pydantic.Field(
        default=False, description="rewrite each caption with a text model"
    )
    enhance_captions_model_id: str = pydantic.Field(
        default=ENHANCE_MODEL_ID, description="text model checkpoint"
    )
    enhance_captions_prompt: str | None = pydantic.Field(
        default=None, description="enhancement instruction (overrides the variant)"
    )
    enhance_captions_prompt_variant: str = pydantic.Field(
        default="default", description="named enhancement prompt (also from the prompts file)"
    )
    enhance_captions_max_tokens: int = pydantic.Field(
        default=512, ge=1, description="enhanced caption length cap"
    )
    enhance_captions_batch_size: int = pydantic.Field(
        default=32, ge=1, description="clips per enhancement batch"
    )
    generate_previews: bool = pydantic.Field(
        default=False, description="write an animated WebP per caption window"
    )
    preview_target_fps: float = pydantic.Field(default=1.0, gt=0, description="preview frame rate")
    preview_target_height: int = pydantic.Field(
        default=240, ge=16, description="preview height in pixels"
    )

    @pydantic.model_validator(mode="after")
    def _caption_choices_usable(self) -> CaptionOptions:
        if self.enhance_captions and self.skip_captions:
            msg = "--enhance-captions needs captions (drop --skip-captions)"
            raise ValueError(msg)
        self.caption_prompt_resolved()
        if self.enhance_captions:
            self.enhance_prompt_resolved()
        return self

    def caption_prompt_resolved(self) -> Prompt:
        """The caption prompt (name and text) this run uses."""
        return resolve_prompt(
            CAPTION_PROMPTS,
            self.caption_prompt_variant,
            self.caption_prompt,
            self.caption_prompts_file,
        )

    def enhance_prompt_resolved(self) -> Prompt:
        """The enhancement instruction (name and text) this run uses."""
        return resolve_prompt(
            ENHANCE_PROMPTS,
            self.enhance_captions_prompt_variant,
            self.enhance_captions_prompt,
            self.caption_prompts_file,
        )


def check_api_key_env(variable: str, flag: str = "--openai-api-key-env") -> None:
    """The API key variable (`flag`'s value) is a variable name, set here unless the default.

    Only the name travels with the stage; workers read the value from their environment.
    The default `OPENAI_API_KEY` may be unset (a local server that wants no key).
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", variable):
        msg = f"{flag} {variable!r}: give the name of an environment variable"
        raise ValueError(msg)
    if variable != DEFAULT_API_KEY_ENV and not os.environ.get(variable):
        msg = f"{flag} {variable}: {variable} is not set in this environment"
        raise ValueError(msg)
