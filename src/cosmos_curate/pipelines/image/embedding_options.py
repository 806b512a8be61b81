"""image-annotate's embedding options: which model embeds the images, or which server.

Names are video-split's where the meaning is the same (`--no-embeddings`,
`--embedding-algorithm`, `--embedding-model-id`, `--embedding-batch-size`,
`--embedding-gpus-per-worker`); the served model's options mirror the caption's `--openai-*`
under `--embedding-openai-*`.

- `clip` (default): CLIP (`--clip-model-id`), which also gives the aesthetic score;
- `cosmos-embed1-224p|336p|448p`: the video flow's Cosmos-Embed1 models, an image embedded
  as a still clip (its one frame repeated as the model's frames);
- `openai`: an OpenAI-compatible embeddings endpoint (`models/openai_embedder.py`).

`--embedding-model-id` picks a model of the model registry by its registry name
(`clip_vit`) or Hugging Face id; it must be one that embeds images (`IMAGE_EMBEDDING_MODELS`)
and sets the algorithm (a contradicting `--embedding-algorithm` is an error).
"""

from __future__ import annotations

import enum

import pydantic

from cosmos_curate.core.weights.registry import ModelEntry, ModelRegistryError, load_registry
from cosmos_curate.models.clip import CLIP_MODEL_ID
from cosmos_curate.models.openai_captioner import AUTO_MODEL
from cosmos_curate.models.video_embedder import VIDEO_EMBEDDING_MODELS
from cosmos_curate.pipelines.video.annotation_options import (
    CaptionBackendOptions,
    check_api_key_env,
)


class ImageEmbeddingAlgorithm(enum.StrEnum):
    """Which model embeds images (video-split's choices, and a served model)."""

    CLIP = "clip"
    COSMOS_EMBED1_224P = "cosmos-embed1-224p"
    COSMOS_EMBED1_336P = "cosmos-embed1-336p"
    COSMOS_EMBED1_448P = "cosmos-embed1-448p"
    OPENAI = "openai"


IMAGE_EMBEDDING_MODELS: dict[str, ImageEmbeddingAlgorithm] = {
    CLIP_MODEL_ID: ImageEmbeddingAlgorithm.CLIP,
    **{model: ImageEmbeddingAlgorithm(name) for name, model in VIDEO_EMBEDDING_MODELS.items()},
}
"""Hugging Face id -> the algorithm that embeds images with it (another CLIP or Cosmos-Embed1
shaped checkpoint needs a registry entry and a line here)."""


def registry_image_model(value: str) -> tuple[ImageEmbeddingAlgorithm, str]:
    """`(algorithm, Hugging Face id)` of a registry model (by name or id) that embeds images.

    Raises `ValueError` naming `--embedding-model-id` and the registry's image models.
    """
    flag = f"--embedding-model-id {value}"
    try:
        registry = load_registry()
    except ModelRegistryError as exc:
        msg = f"{flag}: {exc}"
        raise ValueError(msg) from exc
    usable = ", ".join(
        f"{name} ({entry.model_id})"
        for name, entry in registry.items()
        if entry.model_id in IMAGE_EMBEDDING_MODELS
    )
    entry: ModelEntry | None = registry.get(value)
    if entry is None:
        entry = next((e for e in registry.values() if e.model_id == value), None)
    if entry is None:
        msg = f"{flag}: not in the model registry; image embedding models: {usable or '(none)'}"
        raise ValueError(msg)
    algorithm = IMAGE_EMBEDDING_MODELS.get(entry.model_id)
    if algorithm is None:
        msg = f"{flag}: {entry.model_id} does not embed images; image embedding models: {usable}"
        raise ValueError(msg)
    return algorithm, entry.model_id


class ImageEmbeddingOptions(CaptionBackendOptions):
    """How images are embedded (the caption backend options: see the base)."""

    no_embeddings: bool = pydantic.Field(
        default=False, description="write no embeddings (.npy, parquet)"
    )
    embedding_algorithm: ImageEmbeddingAlgorithm = pydantic.Field(
        default=ImageEmbeddingAlgorithm.CLIP, description=" | ".join(ImageEmbeddingAlgorithm)
    )
    embedding_model_id: str | None = pydantic.Field(
        default=None,
        description="registry name or id of an image embedding model (sets the algorithm)",
    )
    clip_model_id: str = pydantic.Field(
        default=CLIP_MODEL_ID, description="CLIP checkpoint (embeddings, aesthetic score)"
    )
    embedding_batch_size: int = pydantic.Field(
        default=16, ge=1, description="images per embedding forward pass"
    )
    embedding_gpus_per_worker: float = pydantic.Field(
        default=0.25, gt=0, description="GPUs per embedding worker"
    )
    embedding_openai_base_url: str | None = pydantic.Field(
        default=None, description="OpenAI-compatible embeddings endpoint (unset: --openai-base-url)"
    )
    embedding_openai_model_name: str = pydantic.Field(
        default=AUTO_MODEL, description="served embedding model (auto: the first at /models)"
    )
    embedding_openai_api_key_env: str | None = pydantic.Field(
        default=None, description="variable holding the API key (unset: --openai-api-key-env)"
    )
    embedding_openai_dimensions: int | None = pydantic.Field(
        default=None, ge=1, description="expected vector length (unset: the first answer's)"
    )
    embedding_openai_retries: int = pydantic.Field(
        default=3, ge=0, description="retries per request"
    )
    embedding_openai_retry_delay_seconds: float = pydantic.Field(
        default=1.0, ge=0, description="delay between retries"
    )

    @pydantic.model_validator(mode="after")
    def _embedder_usable(self) -> ImageEmbeddingOptions:
        self.embedding_model()
        if self.embedding_algorithm is ImageEmbeddingAlgorithm.OPENAI and not self.no_embeddings:
            if not self.embedding_base_url:
                msg = (
                    "--embedding-algorithm openai needs --embedding-openai-base-url "
                    "(or --openai-base-url)"
                )
                raise ValueError(msg)
            own = self.embedding_openai_api_key_env is not None
            flag = "--embedding-openai-api-key-env" if own else "--openai-api-key-env"
            check_api_key_env(self.embedding_api_key_env, flag)
        return self

    @property
    def embedding_base_url(self) -> str | None:
        """The embeddings endpoint: `--embedding-openai-base-url`, else `--openai-base-url`."""
        return self.embedding_openai_base_url or self.openai_base_url

    @property
    def embedding_api_key_env(self) -> str:
        """The variable holding the embeddings endpoint's key."""
        return self.embedding_openai_api_key_env or self.openai_api_key_env

    def embedding_model(self) -> tuple[ImageEmbeddingAlgorithm, str | None]:
        """The algorithm and checkpoint that embed images (None: a served model).

        Raises `ValueError` for a model that is not an image embedding model of the registry,
        or that contradicts `--embedding-algorithm` or `--clip-model-id`.
        """
        algorithm = self.embedding_algorithm
        if self.embedding_model_id is None:
            if algorithm is ImageEmbeddingAlgorithm.OPENAI:
                return algorithm, None
            if algorithm is ImageEmbeddingAlgorithm.CLIP:
                return algorithm, self.clip_model_id
            return algorithm, VIDEO_EMBEDDING_MODELS[algorithm.value]
        chosen, model_id = registry_image_model(self.embedding_model_id)
        flag = f"--embedding-model-id {self.embedding_model_id}"
        if "embedding_algorithm" in self.model_fields_set and algorithm is not chosen:
            msg = f"{flag} is a {chosen} model, not --embedding-algorithm {algorithm}"
            raise ValueError(msg)
        clip_given = "clip_model_id" in self.model_fields_set
        if chosen is ImageEmbeddingAlgorithm.CLIP and clip_given and self.clip_model_id != model_id:
            msg = f"{flag} and --clip-model-id {self.clip_model_id}: give one CLIP checkpoint"
            raise ValueError(msg)
        return chosen, model_id

    @property
    def clip_checkpoint(self) -> str:
        """The CLIP checkpoint of the aesthetic score (and of CLIP embeddings)."""
        algorithm, model_id = self.embedding_model()
        if algorithm is ImageEmbeddingAlgorithm.CLIP and model_id is not None:
            return model_id
        return self.clip_model_id
