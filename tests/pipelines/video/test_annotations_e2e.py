"""`video-split` embeddings and captions end to end on the session's Ray cluster.

Options are parsed by the pipeline registry exactly as `curate pipeline run video-split`
parses its flags, then the pipeline runs every stage on Ray with tiny random models: CLIP,
a LLaVA VLM, a Cosmos-Embed1-shaped video model, a GPT-2 enhancer, and a served model
behind an OpenAI-compatible server on 127.0.0.1. Inputs: two synthetic videos cut at a
fixed 3 s stride into 30- and 20-frame clips, captioned in windows of 16 frames.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image
from tests.pipelines.video import _annotation_fakes as fakes
from tests.pipelines.video import _synth
from tests.support import curate, curate_in_process, free_port, one_error_line

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.models.aesthetics import AESTHETIC_MODEL_ID
from cosmos_curate.models.clip import CLIP_MODEL_ID
from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.video.embedding_table import SCHEMA, read_table
from cosmos_curate.pipelines.video.frames import sample_indices
from cosmos_curate.pipelines.video.split.pipeline import split_videos
from cosmos_curate.pipelines.video.windows import compute_windows

pytestmark = pytest.mark.integration

WINDOW, REMAINDER = 16, 8
CLIP_SPANS = {"scenes.mp4": [(0, 30), (30, 60), (60, 80)], "still.mp4": [(0, 30), (30, 60)]}


def _run(inputs: Path, out: Path, **flags: Any) -> dict[str, Any]:
    """Parse `flags` as the CLI does (registry), then run on the session's cluster."""
    entry = registry.get_pipeline("video-split")
    raw = {
        "input_path": str(inputs),
        "output_path": str(out),
        "splitting_algorithm": "fixed-stride",
        "clip_len_s": 3.0,
        "min_clip_len_s": 1.0,
        "caption_model_id": _synth.TINY_VLM_ID,
        "caption_max_tokens": 4,
        "captioning_window_size": WINDOW,
        "captioning_remainder_threshold": REMAINDER,
        "workers_per_stage": 1,
        **flags,
    }
    options = registry.parse_options(entry, raw)
    # Workers read the weights root the session cluster started with; stages load from the
    # root the driver pins, so the per-node check is skipped (as in test_split_pipeline).
    split_videos(options, RunOptions(metrics_port=None, check_weights=False))
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return summary


def _metas(out: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((out / "metas").glob("*.json"))]


def _clip_frames(meta: dict[str, Any]) -> int:
    return int(meta["span"]["end_frame"] - meta["span"]["start_frame"])


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("videos")
    _synth.scenes_video(folder / "scenes.mp4")
    _synth.static_then_moving_video(folder / "still.mp4")
    return folder


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("weights")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CURATE_WEIGHTS_DIR", str(root))
        _synth.save_tiny_clip(CLIP_MODEL_ID)
        _synth.save_tiny_aesthetic_head(AESTHETIC_MODEL_ID)
        _synth.save_tiny_vlm()
        fakes.save_tiny_video_embedder()
        fakes.save_tiny_enhancer()
    return root


@pytest.fixture(scope="module")
def full_run(
    ray_cluster: dict[str, object],
    inputs: Path,
    weights: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """CLIP embeddings, windowed captions with a prompt file variant, previews, enhancement."""
    out = tmp_path_factory.mktemp("full")
    prompts = tmp_path_factory.mktemp("prompts") / "prompts.json"
    prompts.write_text(json.dumps({"short": "describe this clip in one sentence"}))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CURATE_WEIGHTS_DIR", str(weights))
        _run(
            inputs,
            out,
            caption_prompts_file=str(prompts),
            caption_prompt_variant="short",
            generate_previews=True,
            enhance_captions=True,
            enhance_captions_model_id=fakes.TINY_ENHANCER_ID,
            enhance_captions_max_tokens=4,
        )
    return out


def test_each_clip_is_captioned_per_window(full_run: Path) -> None:
    """Windows follow size/remainder; each has a caption; the clip caption joins them."""
    metas = _metas(full_run)
    assert sorted(_clip_frames(m) for m in metas) == [20, 30, 30, 30, 30]
    for meta in metas:
        spans = [(w["start_frame"], w["end_frame"]) for w in meta["windows"]]
        assert spans == compute_windows(_clip_frames(meta), WINDOW, REMAINDER)
        captions = [w["caption"] for w in meta["windows"]]
        assert all(isinstance(c, str) and c for c in captions)
        assert meta["caption"] == " ".join(captions)
        assert meta["caption_model"] == _synth.TINY_VLM_ID
        assert meta["caption_prompt_variant"] == "short"
        assert meta["caption_prompt"] == "describe this clip in one sentence"
    assert any(len(m["windows"]) == 2 for m in metas)  # the 30-frame clips: 16 + 14 frames


def test_captions_are_enhanced_by_the_text_model(full_run: Path) -> None:
    """Every window keeps its caption and gains an enhanced one; the model is recorded."""
    for meta in _metas(full_run):
        assert all(isinstance(w["enhanced_caption"], str) for w in meta["windows"])
        assert meta["enhance_model"] == fakes.TINY_ENHANCER_ID
        assert meta["enhance_prompt_variant"] == "default"
        assert meta["models"]["enhance"] == fakes.TINY_ENHANCER_ID


def _webp_durations(path: Path) -> list[int]:
    with Image.open(path) as image:
        assert image.format == "WEBP" and image.size[1] == 240
        durations = []
        for index in range(image.n_frames):
            image.seek(index)
            image.load()
            durations.append(int(image.info["duration"]))
        return durations


def test_previews_are_animated_webp_at_1_fps_240_high(full_run: Path) -> None:
    """One WebP per window, 240 px high, a frame per second of the window, shown 1 s each.

    The still shot's windows hold identical frames, which WebP stores as one still image.
    """
    for meta in _metas(full_run):
        for window in meta["windows"]:
            durations = _webp_durations(full_run / window["preview_path"])
            length = window["end_frame"] - window["start_frame"]
            expected = len(sample_indices(length, _synth.FPS, 1.0))
            moving = meta["video_id"].startswith("scenes") or meta["span"]["start_frame"] >= 30
            if moving:
                assert durations == [1000] * expected
            else:
                assert len(durations) == 1


def test_embeddings_table_per_video_matches_the_npy_files(full_run: Path) -> None:
    """One parquet per video: a row per clip with span, model and the .npy's vector."""
    tables = sorted((full_run / "embeddings_parquet").glob("*.parquet"))
    assert len(tables) == 2
    metas = {m["clip_id"]: m for m in _metas(full_run)}
    rows = 0
    for path in tables:
        table = read_table(str(path))
        assert table.schema.equals(SCHEMA, check_metadata=False)
        for row in table.to_pylist():
            meta = metas[row["clip_id"]]
            assert row["video_id"] == meta["video_id"] == path.stem
            assert (row["start_frame"], row["end_frame"]) == (
                meta["span"]["start_frame"],
                meta["span"]["end_frame"],
            )
            assert row["end_s"] == pytest.approx(row["end_frame"] / _synth.FPS)
            assert (row["algorithm"], row["model"]) == ("clip", CLIP_MODEL_ID)
            npy = np.load(full_run / meta["embedding_path"])
            np.testing.assert_array_equal(np.asarray(row["vector"], dtype=np.float32), npy)
            rows += 1
    assert rows == len(metas) == 5


def test_rerun_writes_a_missing_table_of_a_finished_video(
    full_run: Path, inputs: Path, weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table lost after the clips were written comes back on the next run, clips untouched."""
    lost = sorted((full_run / "embeddings_parquet").glob("*.parquet"))[0]
    expected = pq.read_table(lost)
    lost.unlink()
    monkeypatch.setenv("CURATE_WEIGHTS_DIR", str(weights))
    summary = _run(inputs, full_run, caption_prompt_variant="default")
    assert summary["videos_skipped_already_done"] == 2
    assert pq.read_table(lost).equals(expected)


def test_video_embedding_model_and_no_captions(
    ray_cluster: dict[str, object],
    inputs: Path,
    weights: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--embedding-algorithm cosmos-embed1-224p with a same-shaped model: its vectors, no CLIP."""
    monkeypatch.setenv("CURATE_WEIGHTS_DIR", str(weights))
    monkeypatch.setenv("CURATE_ALLOW_UNVERIFIED_WEIGHTS", "1")  # the tiny model is hand-placed
    out = tmp_path / "out"
    _run(
        inputs,
        out,
        embedding_algorithm="cosmos-embed1-224p",
        embedding_model_id=fakes.TINY_VIDEO_EMBED_ID,
        skip_captions=True,
    )
    metas = _metas(out)
    assert len(metas) == 5
    for meta in metas:
        assert meta["embedding_algorithm"] == "cosmos-embed1-224p"
        assert meta["embedding_model"] == fakes.TINY_VIDEO_EMBED_ID
        assert meta["embedding_dim"] == fakes.EMBED_DIM
        assert meta["scores"]["aesthetic"] is None  # CLIP did not run
        assert meta["caption"] is None and meta["windows"] == []
    table = pq.read_table(out / "embeddings_parquet")
    assert table.num_rows == 5
    assert set(table.column("algorithm").to_pylist()) == {"cosmos-embed1-224p"}
    vectors = np.stack(table.column("vector").to_numpy(zero_copy_only=False))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_no_embeddings_with_previews_only(
    ray_cluster: dict[str, object],
    inputs: Path,
    weights: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--no-embeddings --skip-captions --generate-previews: previews per window, nothing else."""
    monkeypatch.setenv("CURATE_WEIGHTS_DIR", str(weights))
    out = tmp_path / "out"
    _run(inputs, out, no_embeddings=True, skip_captions=True, generate_previews=True)
    metas = _metas(out)
    assert len(metas) == 5
    assert not (out / "embeddings").exists() and not (out / "embeddings_parquet").exists()
    for meta in metas:
        assert meta["embedding_path"] is None and "embedding" not in meta["models"]
        assert [w["caption"] for w in meta["windows"]] == [None] * len(meta["windows"])
        assert all((out / w["preview_path"]).is_file() for w in meta["windows"])


def _curate(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`curate ...` as a user runs it (its own embedded Ray), with `env` added."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAY_AUTH_MODE": "disabled", **env}
    full_env.pop("RAY_ADDRESS", None)
    return curate(*args, env=full_env, timeout=400)


def test_served_model_captions_over_the_openai_api(
    inputs: Path, weights: Path, tmp_path: Path
) -> None:
    """`curate pipeline run video-split --captioning-algorithm openai`: a caption per window
    from the server, retried through 503s; the key is sent and never printed or written.
    """
    secret = "sk-curate-test-0123456789"
    server = fakes.FakeOpenAIServer(api_key=secret, fail_first=2).start()
    out = tmp_path / "out"
    flags = {
        "--input-path": str(inputs),
        "--output-path": str(out),
        "--splitting-algorithm": "fixed-stride",
        "--clip-len-s": "3",
        "--min-clip-len-s": "1",
        "--captioning-window-size": str(WINDOW),
        "--captioning-remainder-threshold": str(REMAINDER),
        "--captioning-algorithm": "openai",
        "--openai-base-url": server.url,
        "--openai-api-key-env": "CURATE_TEST_API_KEY",
        "--openai-retry-delay-seconds": "0",
        "--workers-per-stage": "1",
        "--num-cpus": "4",
        "--metrics-port": str(free_port()),
    }
    env = {"CURATE_WEIGHTS_DIR": str(weights), "CURATE_TEST_API_KEY": secret}
    try:
        args = ["pipeline", "run", "video-split", "--no-embeddings", "--no-progress"]
        args += ["--metrics-port", "0"]  # a free port: other lanes may hold 9002
        result = _curate([*args, *(x for kv in flags.items() for x in kv)], env)
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr[-3000:]
    assert secret not in result.stdout + result.stderr
    metas = _metas(out)
    assert len(metas) == 5
    for meta in metas:
        for window in meta["windows"]:
            length = window["end_frame"] - window["start_frame"]
            shown = len(sample_indices(length, _synth.FPS, 2.0))
            assert window["caption"] == f"{fakes.SERVED_MODEL} saw {shown} frames"
        assert meta["caption_model"] == fakes.SERVED_MODEL
    windows = sum(len(m["windows"]) for m in metas)
    assert len(server.requests) == windows + 2  # two 503s were retried
    assert set(server.auth_headers) == {f"Bearer {secret}"}
    for path in out.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_bad_caption_options_are_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown prompt variant stops `curate pipeline run` before anything starts (exit 2)."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    result = curate_in_process(
        "pipeline", "run", "video-split", "--input-path", str(tmp_path),
        "--output-path", str(tmp_path / "out"), "--caption-prompt-variant", "poetic",
    )  # fmt: skip
    assert "unknown prompt variant 'poetic'" in one_error_line(result, code=2)
    assert not (tmp_path / "out").exists()
    entry = registry.get_pipeline("video-split")
    with pytest.raises(registry.PipelineOptionsError, match="needs --openai-base-url"):
        registry.parse_options(
            entry,
            {
                "input_path": str(tmp_path),
                "output_path": str(tmp_path / "out"),
                "captioning_algorithm": "openai",
            },
        )
