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
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import numpy as np
from PIL import Image

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
class EmbeddingsServer:
    """The endpoint: `url` is its `/v1` base; `api_key`, when set, is required."""

    api_key: str | None = None
    answer: Answer | None = None
    requests: list[dict[str, Any]] = attrs.field(factory=list)
    vectors: list[list[float]] = attrs.field(factory=list)
    auth_headers: list[str | None] = attrs.field(factory=list)
    problems: list[str] = attrs.field(factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> EmbeddingsServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def _reply(self, body: dict[str, Any]) -> tuple[int, Any]:
        try:
            image = sent_image(body)
        except AssertionError as exc:  # the test asserts `problems` is empty
            self.problems.append(f"not vLLM's request form: {exc}")
            return 400, {"error": {"message": "bad request"}}
        custom = self.answer(image) if self.answer is not None else None
        if custom is not None:
            return custom
        vector = vector_of(image)
        self.vectors.append(vector)
        return 200, {"object": "list", "model": body["model"], "data": [
            {"object": "embedding", "index": 0, "embedding": vector}
        ]}  # fmt: skip

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                header = self.headers.get("Authorization")
                with lock:
                    server.auth_headers.append(header)
                if server.api_key is not None and header != f"Bearer {server.api_key}":
                    self._send(401, {"error": {"message": "invalid api key"}})
                    return False
                return True

            def do_GET(self) -> None:
                if self._authorized() and self.path == "/v1/models":
                    self._send(200, {"data": [{"id": SERVED_EMBEDDER, "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if not self._authorized():
                    return
                if self.path != "/v1/embeddings":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                with lock:
                    server.requests.append(body)
                    status, reply = server._reply(body)
                self._send(status, reply)

        return Handler
