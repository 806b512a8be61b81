"""Captions from a served model through an OpenAI-compatible chat completions endpoint.

vLLM, SGLang, TGI, Ollama and the hosted APIs speak it: each caption window is one request
whose user message holds the sampled frames as JPEG data URLs and the prompt.

The API key is never logged, printed, pickled or written. The captioner holds only the name
of the environment variable (default `OPENAI_API_KEY`, an `ApiKey`); every request reads
the value from the environment of the process that sends it. The workers of a cluster the
driver starts inherit the driver's environment; a remote cluster's workers need the variable
set where the cluster was started (see docs/CLUSTERS.md). The key goes only to the origin
(scheme, host, port) of `base_url`: a redirect elsewhere is followed without it.
`OpenAIEndpoint` (requests, retries, the key's rules) also serves the embeddings client
(`openai_embedder.py`).
"""

from __future__ import annotations

import base64
import io
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

AUTO_MODEL = "auto"
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
_RETRY_STATUSES = {408, 409, 425, 429, 500, 502, 503, 504}


class OpenAIAPIError(RuntimeError):
    """An OpenAI-compatible endpoint refused a request or kept failing after the retries."""


class CaptionAPIError(OpenAIAPIError):
    """The caption endpoint refused a request or kept failing after the retries."""


class MissingApiKeyError(CaptionAPIError):
    """The variable that should hold the API key is not set in this process."""


@attrs.frozen
class ApiKey:
    """Where the API key is: the name of an environment variable, never the value.

    `required` says the key must be there when a request is sent (a missing one is an error
    naming the variable); without it a missing key means requests go without one.
    """

    variable: str = DEFAULT_API_KEY_ENV
    required: bool = False

    @classmethod
    def from_env(cls, variable: str = DEFAULT_API_KEY_ENV) -> ApiKey:
        """A key in `variable`, required when it is set here (on the driver)."""
        return cls(variable, required=bool(os.environ.get(variable)))

    @property
    def present(self) -> bool:
        """Whether this process has a key to send."""
        return bool(os.environ.get(self.variable))

    def check(self) -> None:
        """Raise `MissingApiKeyError` when the key is required and not set here."""
        if self.required and not self.present:
            msg = (
                f"{self.variable} is not set in this process's environment: the workers "
                "read the API key from it (set it where the cluster was started)"
            )
            raise MissingApiKeyError(msg)

    def header(self) -> dict[str, str]:
        """The `Authorization` header, or none without a key."""
        self.check()
        value = os.environ.get(self.variable)
        return {"Authorization": f"Bearer {value}"} if value else {}


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    return (
        scheme,
        (parts.hostname or "").lower(),
        parts.port or {"http": 80, "https": 443}.get(scheme),
    )


class _SameOriginAuthRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects as urllib does, but drops `Authorization` when the origin changes."""

    def redirect_request(  # noqa: PLR0917 (urllib's signature)
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(newurl) != _origin(req.full_url):
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_SameOriginAuthRedirects)


@attrs.frozen
class OpenAIEndpoint:
    """An OpenAI-compatible server at `base_url` (`http://host:port/v1`): JSON requests.

    Retries refused-for-now answers (429, 5xx, ...) and unreachable servers `retries` times,
    `retry_delay_s` apart (growing); the key goes to the origin of `base_url` only. Failures
    raise `error` (the caller's subclass of `OpenAIAPIError`) with a one-line message.
    """

    base_url: str
    api_key: ApiKey = ApiKey()
    retries: int = 3
    retry_delay_s: float = 1.0
    timeout_s: float = 120.0
    error: type[OpenAIAPIError] = CaptionAPIError

    def served_model(self, name: str, flag: str) -> str:
        """`name`, or for `auto` the first model `/models` lists (`flag` names the option)."""
        if name != AUTO_MODEL:
            return name
        listed = self.request("GET", "/models", None)
        models = listed.get("data") if isinstance(listed, dict) else None
        if not models:
            msg = f"{self.base_url}/models lists no model; pass {flag}"
            raise self.error(msg)
        return str(models[0]["id"])

    def request(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        """The parsed JSON answer of `method base_url+path` with `body`."""
        url = self.base_url.rstrip("/") + path
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", **self.api_key.header()}
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.retry_delay_s * attempt)
            request = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with _OPENER.open(request, timeout=self.timeout_s) as response:
                    return json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:300].decode("utf-8", "replace")
                last = f"HTTP {exc.code} from {url}: {detail}"
                if exc.code not in _RETRY_STATUSES:
                    raise self.error(last) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last = f"cannot reach {url}: {getattr(exc, 'reason', exc)}"
            except json.JSONDecodeError:
                last = f"{url} answered with something that is not JSON"
        msg = f"{last} (gave up after {self.retries + 1} attempts)"
        raise self.error(msg)


@attrs.frozen
class ApiCaptionInput:
    """One request's content: the prompt and the frames as JPEG bytes."""

    prompt: str
    jpegs: tuple[bytes, ...] = attrs.field(repr=lambda v: f"<{len(v)} jpegs>")


def encode_jpeg(frame: npt.NDArray[np.uint8], quality: int = 85) -> bytes:
    """One RGB frame as JPEG bytes."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(frame).save(out, format="JPEG", quality=quality)
    return out.getvalue()


class OpenAIInputPreparer:
    """CPU side: frames and prompt -> an `ApiCaptionInput` (no model, no weights)."""

    def prepare(self, frames: Sequence[npt.NDArray[np.uint8]], prompt: str) -> ApiCaptionInput:
        """JPEG-encode the frames for one request."""
        return ApiCaptionInput(prompt, tuple(encode_jpeg(np.asarray(f)) for f in frames))


@attrs.define
class OpenAICaptioner:
    """Sends caption requests to `base_url` (`http://host:port/v1`), several at a time."""

    base_url: str
    model_name: str = AUTO_MODEL
    api_key: ApiKey = ApiKey()
    max_tokens: int = 512
    max_concurrent: int = 8
    retries: int = 3
    retry_delay_s: float = 1.0
    timeout_s: float = 120.0

    def setup(self) -> None:
        """Check the API key is here; resolve `auto` to the first model at `/models`."""
        self.api_key.check()
        self.model_name = self.endpoint.served_model(self.model_name, "--openai-model-name")

    @property
    def endpoint(self) -> OpenAIEndpoint:
        """The server the captions come from."""
        return OpenAIEndpoint(
            self.base_url, self.api_key, self.retries, self.retry_delay_s, self.timeout_s
        )

    def generate(self, inputs: Sequence[ApiCaptionInput]) -> list[str]:
        """One caption per input, in order; up to `max_concurrent` requests in flight."""
        if not inputs:
            return []
        with ThreadPoolExecutor(max_workers=min(self.max_concurrent, len(inputs))) as pool:
            return list(pool.map(self.caption_one, inputs))

    def caption_one(self, item: ApiCaptionInput) -> str:
        """The caption of one window."""
        content: list[dict[str, Any]] = [{"type": "text", "text": item.prompt}]
        for jpeg in item.jpegs:
            url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
            content.append({"type": "image_url", "image_url": {"url": url}})
        body = {
            "model": self.model_name,
            "messages": [{"role": "user", "content": content}],
            "max_tokens": self.max_tokens,
            "temperature": 0.0,
        }
        reply = self.endpoint.request("POST", "/chat/completions", body)
        try:
            text = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            msg = f"{self.base_url}/chat/completions answered without choices[0].message.content"
            raise CaptionAPIError(msg) from exc
        return str(text or "").strip()
