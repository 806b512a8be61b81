"""Image embeddings from a served model through an OpenAI-compatible embeddings endpoint.

Each image is one `POST {base_url}/embeddings` in the chat form vLLM's multimodal
embedding models accept: `messages` holding one user message whose content is the image as
a JPEG data URL, `encoding_format: float`; the vector is `data[0].embedding`. Requests, the
retries and the API key's rules are `OpenAIEndpoint`'s (`openai_captioner.py`): only the
name of the key's variable travels, and the key goes to `base_url`'s origin only.

An answer without a vector, with something other than finite numbers, or of another length
than `dimensions` (unset: the first vector this process received) raises
`EmbeddingAPIError` naming the endpoint and what was wrong.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from cosmos_curate.models.openai_captioner import (
    AUTO_MODEL,
    ApiKey,
    OpenAIAPIError,
    OpenAIEndpoint,
)


class EmbeddingAPIError(OpenAIAPIError):
    """The embeddings endpoint failed, or answered without a usable vector."""


@attrs.define
class OpenAIImageEmbedder:
    """Embeds images (JPEG bytes) at `base_url` (`http://host:port/v1`), one request each."""

    base_url: str
    model_name: str = AUTO_MODEL
    api_key: ApiKey = attrs.field(factory=ApiKey)
    dimensions: int | None = None
    retries: int = 3
    retry_delay_s: float = 1.0
    timeout_s: float = 120.0

    @property
    def endpoint(self) -> OpenAIEndpoint:
        """The server the vectors come from."""
        return OpenAIEndpoint(
            self.base_url,
            self.api_key,
            self.retries,
            self.retry_delay_s,
            self.timeout_s,
            error=EmbeddingAPIError,
        )

    def setup(self) -> None:
        """Check the API key is here; resolve `auto` to the first model at `/models`."""
        self.api_key.check()
        self.model_name = self.endpoint.served_model(
            self.model_name, "--embedding-openai-model-name"
        )

    def embed(self, jpeg: bytes) -> npt.NDArray[np.float32]:
        """The vector of one image, checked (see the module docstring)."""
        url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
        body = {
            "model": self.model_name,
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}
            ],
            "encoding_format": "float",
        }
        vector = self._vector(self.endpoint.request("POST", "/embeddings", body))
        if self.dimensions is None:
            self.dimensions = len(vector)  # later answers must match the first
        elif len(vector) != self.dimensions:
            msg = (
                f"{self.base_url}/embeddings answered a vector of {len(vector)} numbers, "
                f"expected {self.dimensions}"
            )
            raise EmbeddingAPIError(msg)
        return vector

    def _vector(self, reply: Any) -> npt.NDArray[np.float32]:
        where = f"{self.base_url}/embeddings"
        try:
            values = reply["data"][0]["embedding"]
        except (KeyError, IndexError, TypeError):
            msg = f"{where} answered without data[0].embedding"
            raise EmbeddingAPIError(msg) from None
        if not isinstance(values, list) or not values:
            msg = f"{where} answered an embedding that is not a list of numbers"
            raise EmbeddingAPIError(msg)
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in values
        ):
            msg = f"{where} answered an embedding holding something other than finite numbers"
            raise EmbeddingAPIError(msg)
        return np.asarray(values, dtype=np.float32)
