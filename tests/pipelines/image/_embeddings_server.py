"""An OpenAI-compatible embeddings endpoint on 127.0.0.1 for the image embedding tests.

`POST /v1/embeddings` takes vLLM's multimodal chat form (`messages` with one user message
holding an `image_url` JPEG data URL, `encoding_format: float`) and answers
`{"data": [{"embedding": [...]}]}`: the image's mean red, green and blue (0-1) then its width
and height / 100, padded to `DIM` numbers, so each vector follows the image it was sent.
`answer` may replace the reply for an image (a broken answer, an HTTP error). `GET
/v1/models` lists `SERVED_EMBEDDER`. Every request body and sent vector is kept; a request
not in that form is answered 400 and noted in `problems`.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import numpy as np
from PIL import Image
from tests.pipelines._served import ServedModel

SERVED_EMBEDDER = "served-image-embedder"
DIM = 8


def sent_image(body: dict[str, Any]) -> Image.Image:
    """The image of a request body (asserts the request's shape)."""
    assert set(body) == {"model", "messages", "encoding_format"}, body.keys()
    assert body["encoding_format"] == "float"
    (message,) = body["messages"]
    assert message["role"] == "user"
    (part,) = message["content"]
    assert part["type"] == "image_url"
    prefix = "data:image/jpeg;base64,"
    url = part["image_url"]["url"]
    assert url.startswith(prefix), url[:40]
    image = Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :])))
    assert image.format == "JPEG"
    return image.convert("RGB")


def vector_of(image: Image.Image) -> list[float]:
    """The vector the server answers for `image`."""
    mean = np.asarray(image, dtype=np.float64).reshape(-1, 3).mean(axis=0) / 255.0
    values = [*mean.tolist(), image.width / 100, image.height / 100]
    return [round(v, 6) for v in values] + [0.5] * (DIM - len(values))


# A reply: (HTTP status, JSON body); None keeps the default answer.
Answer = Callable[[Image.Image], tuple[int, Any] | None]


@attrs.define
class EmbeddingsServer(ServedModel):
    """The endpoint (`ServedModel`: `url`, `api_key`, `requests`, `auth_headers`)."""

    model_id: ClassVar[str] = SERVED_EMBEDDER

    answer: Answer | None = None
    vectors: list[list[float]] = attrs.field(factory=list)
    problems: list[str] = attrs.field(factory=list)

    def reply(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """Answers `/v1/embeddings` as the module docstring says."""
        if path != "/v1/embeddings":
            return 404, {"error": {"message": f"no route {path}"}}
        try:
            image = sent_image(body)
        except AssertionError as exc:  # the test asserts `problems` is empty
            with self.lock:
                self.problems.append(f"not vLLM's request form: {exc}")
            return 400, {"error": {"message": "bad request"}}
        custom = self.answer(image) if self.answer is not None else None
        if custom is not None:
            return custom
        vector = vector_of(image)
        with self.lock:
            self.vectors.append(vector)
        return 200, {"object": "list", "model": body["model"], "data": [
            {"object": "embedding", "index": 0, "embedding": vector}
        ]}  # fmt: skip
