"""The HTTP side of the served-model stand-ins: an OpenAI-compatible server on 127.0.0.1.

`ServedModel` listens on a free port (`url` is its `/v1` base), lists `model_id` at
`GET /v1/models`, requires `Bearer <api_key>` when `api_key` is set (401 otherwise; every
`Authorization` header is kept in `auth_headers`), keeps each POST body in `requests` and
answers it with `reply(path, body)`. A stand-in (chat completions in
`video/_annotation_fakes.py`, embeddings in `image/_embeddings_server.py`) writes `reply`
only. Use it as a context manager, or `start()` and `stop()`.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self

import attrs


@attrs.define
class ServedModel:
    """The server; see the module docstring."""

    model_id: ClassVar[str] = "served-model"

    api_key: str | None = None
    host: str = "127.0.0.1"
    requests: list[dict[str, Any]] = attrs.field(factory=list)
    auth_headers: list[str | None] = attrs.field(factory=list)
    lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False)
    """Held while a request is recorded; `reply` takes it for its own bookkeeping."""
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{self.host}:{self._server.server_address[1]}/v1"

    def start(self) -> Self:
        self._server = ThreadingHTTPServer((self.host, 0), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reply(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """The HTTP status and JSON answer to a POST to `path` (`/v1/...`)."""
        raise NotImplementedError

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        served = self

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
                with served.lock:
                    served.auth_headers.append(header)
                if served.api_key is not None and header != f"Bearer {served.api_key}":
                    self._send(401, {"error": {"message": "invalid api key"}})
                    return False
                return True

            def do_GET(self) -> None:
                if self._authorized() and self.path == "/v1/models":
                    self._send(200, {"data": [{"id": served.model_id, "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if not self._authorized():
                    return
                with served.lock:
                    served.requests.append(body)
                self._send(*served.reply(self.path, body))

        return Handler
