"""Inputs users have, made with ffmpeg: each splits frame-exactly and upright, or fails clearly.

mkv (H.264 + AAC), webm (VP9 + Opus), mov, 10-bit H.264, variable frame rate, a phone-style
rotated file, and an audio-only file (the one failed input). One run through the registry on
the session's Ray cluster, 1 s fixed-stride clips.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.pipelines.video import _ffmpeg_inputs as media
from tests.pipelines.video import _synth
from tests.pipelines.video.test_split_modes import metas, run_split

pytestmark = pytest.mark.integration

Run = tuple[Path, Path, dict[str, Any]]
KINDS = ["a.mkv", "b.webm", "c.mov", "ten_bit.mp4", "vfr.mp4", "rotated.mp4"]


@pytest.fixture(scope="module")
def kinds_run(
    ray_cluster: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> Run:
    inputs = tmp_path_factory.mktemp("kinds")
    for name in ("a.mkv", "b.webm", "c.mov"):
        media.container_video(inputs / name)
    media.ten_bit_video(inputs / "ten_bit.mp4")
    media.vfr_video(inputs / "vfr.mp4")
    media.rotated_video(inputs / "rotated.mp4")
    media.audio_only(inputs / "sound.mkv")
    out = tmp_path_factory.mktemp("kinds_out")
    summary = run_split(
        inputs, out, splitting_algorithm="fixed-stride", clip_len_s=1.0, min_clip_len_s=0.5
    )
    return inputs, out, summary


def _by_source(out: Path) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for meta in metas(out):
        found.setdefault(Path(meta["source_video"]).name, []).append(meta)
    return found


def test_every_kind_splits_into_frame_exact_clips(kinds_run: Run) -> None:
    """Each clip decodes to exactly its span's frames at the source's rate, covering the video."""
    _, out, _ = kinds_run
    found = _by_source(out)
    assert sorted(found) == sorted(KINDS)
    for name, records in found.items():
        spans = sorted((m["span"]["start_frame"], m["span"]["end_frame"]) for m in records)
        assert spans[0][0] == 0 and all(b == c for (_, b), (c, _) in itertools.pairwise(spans))
        record = json.loads((out / "videos" / f"{records[0]['video_id']}.json").read_text())
        assert spans[-1][1] == record["num_frames"], name
        for meta in records:
            count, fps, codec = _synth.decode_count(out / meta["clip_path"])
            span = meta["span"]["end_frame"] - meta["span"]["start_frame"]
            assert count == span == meta["num_frames"], (name, meta["span"])
            assert fps == pytest.approx(meta["source_meta"]["fps"], rel=1e-3) and codec == "h264"


def test_audio_of_mkv_webm_mov_is_kept(kinds_run: Run) -> None:
    """AAC and Opus sources both give clips with AAC audio as long as the picture."""
    _, out, _ = kinds_run
    for name, records in _by_source(out).items():
        if name in ("a.mkv", "b.webm", "c.mov"):
            durations = media.stream_durations(out / records[0]["clip_path"])
            assert durations["audio"] == pytest.approx(durations["video"], abs=0.03), name


def test_rotated_phone_video_comes_out_upright(kinds_run: Run) -> None:
    """A 90-degree display matrix gives portrait clips that look as ffmpeg shows the source."""
    inputs, out, _ = kinds_run
    first = min(_by_source(out)["rotated.mp4"], key=lambda m: m["span"]["start_frame"])
    assert (first["width"], first["height"]) == (90, 160)
    assert first["source_meta"]["rotation"] == 90
    reference = media.first_frame_rgb(inputs / "rotated.mp4")
    ours = media.first_frame_rgb(out / first["clip_path"])
    assert ours.shape == reference.shape
    assert float(np.abs(ours.astype(int) - reference.astype(int)).mean()) < 8


def test_variable_frame_rate_and_ten_bit_are_read(kinds_run: Run) -> None:
    """VFR is read on its average-rate timeline (clip lengths add up); 10-bit becomes 8-bit."""
    _, out, _ = kinds_run
    found = _by_source(out)
    vfr = found["vfr.mp4"]
    total_s = sum(m["duration_s"] for m in vfr)
    assert total_s == pytest.approx(vfr[0]["source_meta"]["duration_s"], abs=0.1)
    assert found["ten_bit.mp4"][0]["source_meta"]["pix_fmt"] == "yuv420p10le"


def test_audio_only_file_is_a_failed_input_with_the_reason(
    kinds_run: Run,
) -> None:
    """A file with no video stream is the run's one failure, named, with why."""
    _, _, summary = kinds_run
    assert summary["failures"] == 1
    (entry,) = summary["failure_records"]
    assert entry["source"].endswith("sound.mkv") and "no video stream" in entry["error"]
    assert summary["videos_completed"] == len(KINDS)
