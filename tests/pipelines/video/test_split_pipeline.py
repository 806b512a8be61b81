"""End-to-end `video-split` runs on the session's real Ray cluster, with tiny models.

Inputs: three moving colour scenes with cuts at frames 25 and 55; a still shot followed by a
cut at frame 30 and motion; a corrupt file; a text file that is not a video. Ray runs every
stage (the declared GPU is fake, so the models run on CPU).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.pipelines.video import _synth

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.models.aesthetics import AESTHETIC_MODEL_ID
from cosmos_curate.models.clip import CLIP_MODEL_ID
from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.video.split.pipeline import (
    VideoSplitOptions,
    run_video_split,
    split_videos,
)

pytestmark = pytest.mark.integration

TARGET_HEIGHT = 72
# Planted shots (frame spans) that survive the filters, per input file.
MOVING_SHOTS = {"scenes.mp4": [(0, 25), (25, 55), (55, 80)], "still_then_moving.mp4": [(30, 60)]}
STILL_SHOT = ("still_then_moving.mp4", (0, 30))


def _options(inputs: Path, out: Path, **extra: Any) -> VideoSplitOptions:
    values: dict[str, Any] = {
        "input_path": str(inputs),
        "output_path": str(out),
        # The fast frame-difference detector, with no crop and no frame minimum, so that the
        # planted shots come out whole (TransNetV2 has its own tests: test_transnetv2.py).
        "splitting_algorithm": "shot",
        "min_clip_len_frames": 0,
        "crop_s": 0.0,
        "motion_filter": "enable",
        "min_clip_len_s": 1.0,
        "max_clip_len_s": 10.0,
        "target_resolution": TARGET_HEIGHT,
        "caption_model_id": _synth.TINY_VLM_ID,
        "caption_max_tokens": 6,
        "caption_prompt": "describe this clip in one sentence",
        "workers_per_stage": 1,  # a handful of clips: extra workers would only cost start-up
    }
    return VideoSplitOptions(**(values | extra))


def _run(options: VideoSplitOptions) -> dict[str, Any]:
    # The runtime's per-node weights check runs in the workers, which read the weights
    # root from the environment the session cluster started with, not this test's; the
    # driver-side check is covered by test_missing_weights_error_names_the_download_command
    # and the stages load from the root the driver pins (models/_weights.py).
    split_videos(options, RunOptions(metrics_port=None, check_weights=False))
    summary: dict[str, Any] = json.loads((Path(options.output_path) / "summary.json").read_text())
    return summary


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("videos")
    _synth.scenes_video(folder / "scenes.mp4")
    _synth.static_then_moving_video(folder / "still_then_moving.mp4")
    _synth.corrupt_video(folder / "broken" / "corrupt.mp4")
    (folder / "notes.txt").write_text("not a video")
    return folder


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("weights")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CURATE_WEIGHTS_DIR", str(root))
        _synth.save_tiny_clip(CLIP_MODEL_ID)
        _synth.save_tiny_aesthetic_head(AESTHETIC_MODEL_ID)
        _synth.save_tiny_vlm()
    return root


@pytest.fixture(scope="module")
def first_run(
    ray_cluster: dict[str, object],
    inputs: Path,
    weights: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("out")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CURATE_WEIGHTS_DIR", str(weights))
        summary = _run(_options(inputs, out))
    return out, summary


def _metas(out: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((out / "metas").glob("*.json"))]


def _by_source(records: list[dict[str, Any]]) -> dict[str, list[tuple[int, int]]]:
    found: dict[str, list[tuple[int, int]]] = {}
    for meta in records:
        name = Path(meta["source_video"]).name
        found.setdefault(name, []).append((meta["span"]["start_frame"], meta["span"]["end_frame"]))
    return {k: sorted(v) for k, v in found.items()}


def test_moving_shots_become_clips_at_the_planted_cuts(
    first_run: tuple[Path, dict[str, Any]],
) -> None:
    """Each planted moving shot is one clip whose bounds are within a frame of the cuts."""
    out, _ = first_run
    found = _by_source(_metas(out))
    assert set(found) == set(MOVING_SHOTS)
    for name, spans in MOVING_SHOTS.items():
        assert len(found[name]) == len(spans), (name, found[name])
        for (a, b), (x, y) in zip(spans, found[name], strict=True):
            assert abs(a - x) <= 1 and abs(b - y) <= 1, (name, spans, found[name])


def test_still_shot_is_dropped_by_the_motion_filter(first_run: tuple[Path, dict[str, Any]]) -> None:
    """The still shot is kept under filtered_clips/ (mp4 + record with score and reason)."""
    out, summary = first_run
    records = [json.loads(p.read_text()) for p in (out / "filtered_clips").glob("*.json")]
    assert len(records) == 1
    record = records[0]
    assert Path(record["source_video"]).name == STILL_SHOT[0]
    assert record["filtered_by"] == "motion"
    # H.264 clips: scored from their motion vectors, on upstream's scale and threshold.
    assert record["motion_method"] == "motion-vectors"
    assert record["scores"]["motion_global_mean"] < 0.00098
    assert record["motion_score_global_mean"] == record["scores"]["motion_global_mean"]
    assert record["filter_reason"].startswith("motion global mean ")
    assert "< threshold 0.00098" in record["filter_reason"]
    assert not (out / "clips" / f"{record['clip_id']}.mp4").exists()
    kept = out / record["clip_path"]
    assert record["clip_path"] == f"filtered_clips/{record['clip_id']}.mp4" and kept.is_file()
    assert _synth.decode_count(kept)[0] == STILL_SHOT[1][1] - STILL_SHOT[1][0]
    assert summary["clips_filtered"].get("motion") == 1


def test_every_written_clip_decodes_with_the_expected_duration(
    first_run: tuple[Path, dict[str, Any]],
) -> None:
    """Each mp4 is H.264 at the target height with exactly the span's frames at the source fps."""
    out, _ = first_run
    metas = _metas(out)
    assert len(metas) == 4
    for meta in metas:
        count, fps, codec = _synth.decode_count(out / meta["clip_path"])
        span = meta["span"]
        assert codec == "h264"
        assert fps == pytest.approx(_synth.FPS)
        assert count == span["end_frame"] - span["start_frame"] == meta["num_frames"]
        assert count / fps == pytest.approx(meta["duration_s"], abs=1 / fps)
        assert meta["height"] == TARGET_HEIGHT and meta["width"] == 128


def test_clip_metadata_is_complete(first_run: tuple[Path, dict[str, Any]]) -> None:
    """Metadata names the source, span, both scores, a caption and a unit-norm embedding file."""
    out, _ = first_run
    for meta in _metas(out):
        assert Path(meta["source_video"]).is_file()
        assert meta["span"]["end_s"] > meta["span"]["start_s"]
        assert meta["scores"]["motion_global_mean"] > 0.00098
        assert meta["motion_method"] == "motion-vectors"
        assert isinstance(meta["scores"]["aesthetic"], float)
        assert meta["aesthetic_reduction"] == "min"  # upstream's default
        assert isinstance(meta["caption"], str) and meta["caption"]
        embedding = np.load(out / meta["embedding_path"])
        assert embedding.shape == (meta["embedding_dim"],) == (16,)
        assert float(np.linalg.norm(embedding)) == pytest.approx(1.0, abs=1e-4)
        assert meta["models"]["caption"] == _synth.TINY_VLM_ID
        assert meta["source_meta"]["fps"] == pytest.approx(_synth.FPS)


def test_corrupt_input_becomes_a_failure_record(first_run: tuple[Path, dict[str, Any]]) -> None:
    """The corrupt file fails at ingest, is listed in the summary and in the run's failure file."""
    _, summary = first_run
    assert summary["failures"] == 1
    (entry,) = summary["failure_records"]
    assert entry["stage"] == "VideoIngestStage"
    assert entry["source"].endswith("broken/corrupt.mp4")
    lines = Path(summary["failures_path"]).read_text().splitlines()
    assert len(lines) == 1 and "corrupt.mp4" in lines[0]


def test_summary_counts_videos_clips_and_throughput(first_run: tuple[Path, dict[str, Any]]) -> None:
    """Summary: 3 videos in (the .txt ignored), 2 completed, 4 clips, 14 s of video, a rate."""
    _, summary = first_run
    assert summary["videos_found"] == 3
    assert summary["videos_in"] == 3
    assert summary["videos_completed"] == 2
    assert summary["clips_out"] == 4
    assert summary["clips_incomplete"] == 0
    assert summary["video_hours_processed"] == pytest.approx(14 / 3600, abs=1e-5)
    rate = summary["video_hours_processed"] / (summary["wall_time_s"] / 3600)
    assert summary["video_hours_per_wall_hour"] == pytest.approx(rate, rel=1e-2)


def test_rerun_skips_finished_videos(
    first_run: tuple[Path, dict[str, Any]],
    inputs: Path,
    weights: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second run on the same output leaves finished videos' files alone and retries the rest."""
    out, _ = first_run
    before = {p.name: p.stat().st_mtime_ns for p in (out / "clips").glob("*.mp4")}
    monkeypatch.setenv("CURATE_WEIGHTS_DIR", str(weights))
    summary = _run(_options(inputs, out))
    assert summary["videos_skipped_already_done"] == 2
    assert summary["videos_in"] == 1  # only the corrupt one is tried again
    assert summary["failures"] == 1
    assert {p.name: p.stat().st_mtime_ns for p in (out / "clips").glob("*.mp4")} == before


def test_missing_weights_error_names_the_download_command(inputs: Path, tmp_path: Path) -> None:
    """With no weights on disk the run stops before starting Ray and says what to run."""
    with pytest.raises(CurateError, match="curate model download"):
        run_video_split(_options(inputs, tmp_path / "out"), registry.RunOptions(metrics_port=None))


def test_fixed_stride_without_captions(
    ray_cluster: dict[str, object], weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fixed stride cuts 2 s clips regardless of shots; --skip-captions writes no caption."""
    inputs = tmp_path / "in"
    _synth.scenes_video(inputs / "scenes.mp4")
    monkeypatch.setenv("CURATE_WEIGHTS_DIR", str(weights))
    summary = _run(
        _options(
            inputs,
            tmp_path / "out",
            splitting_algorithm="fixed-stride",
            clip_len_s=2.0,
            chunk_len_s=3.0,  # ignored: fixed stride decodes nothing, the video is one chunk
            skip_captions=True,
        )
    )
    metas = _metas(tmp_path / "out")
    spans = sorted((m["span"]["start_frame"], m["span"]["end_frame"]) for m in metas)
    assert spans == [(0, 20), (20, 40), (40, 60), (60, 80)]
    assert all(m["caption"] is None and "caption" not in m["models"] for m in metas)
    assert summary["clips_out"] == 4 and summary["videos_completed"] == 1
