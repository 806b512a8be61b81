"""The embedding/caption model wrappers and their pure helpers, without Ray."""

from __future__ import annotations

import json
import pickle
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from tests.pipelines.video import _annotation_fakes as fakes
from tests.pipelines.video import _synth

from cosmos_curate.models.caption_enhancer import CaptionEnhancer
from cosmos_curate.models.openai_captioner import (
    ApiKey,
    CaptionAPIError,
    MissingApiKeyError,
    OpenAICaptioner,
    OpenAIInputPreparer,
)
from cosmos_curate.models.video_embedder import (
    VIDEO_EMBEDDING_MODELS,
    VideoEmbedder,
    VideoEmbedPreprocessor,
    spread_indices,
)
from cosmos_curate.pipelines.video.annotation_options import EmbeddingAlgorithm
from cosmos_curate.pipelines.video.prompts import (
    CAPTION_PROMPTS,
    PromptError,
    resolve_prompt,
)
from cosmos_curate.pipelines.video.windows import compute_windows


def _frames(n: int) -> np.ndarray:
    return np.stack(list(_synth.moving_square((200, 30, 30), n)))


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (0, []),
        (100, [(0, 100)]),
        (256, [(0, 256)]),
        (300, [(0, 300)]),  # remainder 44 < 128 joins the window
        (400, [(0, 256), (256, 400)]),  # remainder 144 >= 128 is its own window
        (600, [(0, 256), (256, 600)]),  # 2 full + 88 joins the second
        (768, [(0, 256), (256, 512), (512, 768)]),
    ],
)
def test_windows_follow_the_remainder_rule(total: int, expected: list[tuple[int, int]]) -> None:
    """Windows of 256 frames; a remainder of 128+ frames is its own window, less joins the last."""
    assert compute_windows(total, 256, 128) == expected


def test_prompts_resolve_from_text_file_or_builtins(tmp_path: Path) -> None:
    """Text wins; a file's names join the built-ins; an unknown name lists the known ones."""
    assert resolve_prompt(CAPTION_PROMPTS, "av").text == CAPTION_PROMPTS["av"]
    assert resolve_prompt(CAPTION_PROMPTS, "av", "say hi").name == "custom"
    path = tmp_path / "prompts.json"
    path.write_text(json.dumps({"short": "one sentence please"}))
    assert resolve_prompt(CAPTION_PROMPTS, "short", None, path).text == "one sentence please"
    with pytest.raises(PromptError, match="known: av, av-surveillance, default, short"):
        resolve_prompt(CAPTION_PROMPTS, "nope", None, path)
    path.write_text("[1, 2]")
    with pytest.raises(PromptError, match="JSON object"):
        resolve_prompt(CAPTION_PROMPTS, "short", None, path)


def test_every_video_algorithm_has_a_model_and_a_registry_entry() -> None:
    """Each non-CLIP --embedding-algorithm maps to a checkpoint listed in all_models.json."""
    from cosmos_curate.core.weights.registry import load_registry

    ids = {entry.model_id for entry in load_registry().values()}
    video = {a.value for a in EmbeddingAlgorithm} - {"clip"}
    assert video == set(VIDEO_EMBEDDING_MODELS)
    assert set(VIDEO_EMBEDDING_MODELS.values()) <= ids


def test_video_embedder_loads_checkpoint_code_and_embeds(
    isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Cosmos-Embed1-shaped checkpoint: N frames picked, one unit-norm vector per clip."""
    monkeypatch.setenv("CURATE_ALLOW_UNVERIFIED_WEIGHTS", "1")  # hand-placed, no manifest
    fakes.save_tiny_video_embedder()
    pre = VideoEmbedPreprocessor(fakes.TINY_VIDEO_EMBED_ID)
    pre.setup()
    assert pre.num_frames == fakes.NUM_FRAMES
    long_clip, short_clip = pre.preprocess(_frames(9)), pre.preprocess(_frames(2))
    assert long_clip.shape == short_clip.shape == (1, 4, 3, fakes.RESOLUTION, fakes.RESOLUTION)
    model = VideoEmbedder(fakes.TINY_VIDEO_EMBED_ID)
    model.setup()
    out = model.embed(np.concatenate([long_clip, short_clip, long_clip]))
    assert out.shape == (3, fakes.EMBED_DIM)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(out[0], out[2], atol=1e-6)
    assert spread_indices(2, 4) == [0, 0, 1, 1] and spread_indices(8, 4) == [1, 3, 5, 7]


def test_enhancer_rewrites_each_caption(isolated_dirs: Path) -> None:
    """A tiny GPT-2 returns one string per caption even when the input exceeds its context."""
    fakes.save_tiny_enhancer()
    enhancer = CaptionEnhancer(fakes.TINY_ENHANCER_ID, max_new_tokens=6)
    enhancer.setup()
    long_caption = "a red square moves " * 40  # far past 64 positions
    out = enhancer.enhance(["a red square", long_caption], "rewrite:")
    assert len(out) == 2 and all(isinstance(t, str) for t in out)
    assert out == enhancer.enhance(["a red square", long_caption], "rewrite:")  # greedy


def test_openai_captioner_sends_frames_and_key_and_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`auto` resolves the model; frames go as JPEG parts; 503s are retried; a 401 is not."""
    monkeypatch.setenv("CURATE_TEST_KEY", "sk-test-secret")
    monkeypatch.setenv("CURATE_WRONG_KEY", "sk-wrong")
    server = fakes.FakeOpenAIServer(api_key="sk-test-secret", fail_first=1).start()
    try:
        key = ApiKey.from_env("CURATE_TEST_KEY")
        captioner = OpenAICaptioner(server.url, api_key=key, retry_delay_s=0)
        captioner.setup()
        assert captioner.model_name == fakes.SERVED_MODEL
        inputs = [OpenAIInputPreparer().prepare(list(_frames(n)), "describe") for n in (3, 1)]
        assert captioner.generate(inputs) == [
            f"{fakes.SERVED_MODEL} saw 3 frames",
            f"{fakes.SERVED_MODEL} saw 1 frames",
        ]
        assert all(h == "Bearer sk-test-secret" for h in server.auth_headers)
        wrong = OpenAICaptioner(server.url, "m", ApiKey("CURATE_WRONG_KEY"), retry_delay_s=0)
        with pytest.raises(CaptionAPIError, match="HTTP 401") as info:
            wrong.generate(inputs[:1])
        assert "sk-wrong" not in str(info.value)
    finally:
        server.stop()


def test_api_key_is_read_by_name_and_never_pickled(monkeypatch: pytest.MonkeyPatch) -> None:
    """The caption stage holds the variable's name only: neither pickle nor cloudpickle (what
    Ray sends to workers) of the stage holds the key's bytes, nor does any repr; after the
    round trip the key is read from the environment of the process that sends requests."""
    from ray import cloudpickle

    from cosmos_curate.pipelines.video.captioning import CaptionStage

    monkeypatch.setenv("OPENAI_API_KEY", "sk-hidden-0123456789")
    captioner = OpenAICaptioner("http://127.0.0.1:9/v1", api_key=ApiKey.from_env())
    stage = CaptionStage(captioner, "served", gpus=0)
    for blob in (pickle.dumps(stage), cloudpickle.dumps(stage), pickle.dumps(captioner)):
        assert b"sk-hidden" not in blob
    assert "sk-hidden" not in repr(captioner) + repr(stage) + str(captioner.api_key)
    copy = pickle.loads(pickle.dumps(stage))._captioner
    assert copy.api_key.header() == {"Authorization": "Bearer sk-hidden-0123456789"}
    assert ApiKey("CURATE_SURELY_UNSET_VAR").header() == {}


def test_worker_without_the_key_fails_setup_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A key set on the driver but missing where the worker runs: setup fails with one line
    naming the variable (not a keyless request, not the value)."""
    monkeypatch.setenv("CURATE_TEST_KEY", "sk-driver-only")
    key = ApiKey.from_env("CURATE_TEST_KEY")
    monkeypatch.delenv("CURATE_TEST_KEY")
    with pytest.raises(MissingApiKeyError, match="CURATE_TEST_KEY is not set") as info:
        OpenAICaptioner("http://127.0.0.1:9/v1", api_key=key).setup()
    assert "sk-driver-only" not in str(info.value)


def _redirector(target: str) -> tuple[ThreadingHTTPServer, list[str | None]]:
    """A server on 127.0.0.1 that answers every request with 307 to `target` + path."""
    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(307)
            self.send_header("Location", target + self.path.removeprefix("/v1"))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def test_redirect_to_another_host_never_gets_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 307 from the endpoint (127.0.0.1) to another host (127.0.0.2): the request is followed
    without `Authorization`, so the second server never sees the key; a POST redirect is
    not followed at all (urllib's rule) and nothing reaches the second server."""
    monkeypatch.setenv("CURATE_TEST_KEY", "sk-redirect-secret")
    other = fakes.FakeOpenAIServer(host="127.0.0.2").start()
    first, seen = _redirector(other.url)
    try:
        url = f"http://127.0.0.1:{first.server_address[1]}/v1"
        key = ApiKey.from_env("CURATE_TEST_KEY")
        captioner = OpenAICaptioner(url, api_key=key, retries=0)
        captioner.setup()  # GET /models, redirected
        assert captioner.model_name == fakes.SERVED_MODEL
        assert seen == ["Bearer sk-redirect-secret"]
        assert other.auth_headers == [None]
        item = OpenAIInputPreparer().prepare(list(_frames(1)), "describe")
        with pytest.raises(CaptionAPIError, match="HTTP 307"):
            captioner.generate([item])
        assert other.requests == [] and other.auth_headers == [None]
    finally:
        first.shutdown()
        first.server_close()
        other.stop()
