"""`video-split` modes end to end through the pipeline registry on the session's Ray cluster.

Fixed stride with overlapping windows and a per-video clip limit, whole-video clips, the
motion filter's score-only mode, audio kept in sync, and encoder choice. No model runs:
embeddings and captions are off, so each run is a few seconds of real decode and encode.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.pipelines.video import _ffmpeg_inputs as media
from tests.pipelines.video import _synth

from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.video.split.clip_encode import EncoderUnavailableError, check_encoder

pytestmark = pytest.mark.integration


def run_split(inputs: Path, out: Path, **options: Any) -> dict[str, Any]:
    """Run `video-split` as `curate pipeline run` does (registry, parsed options)."""
    entry = registry.get_pipeline("video-split")
    raw = {
        "input_path": str(inputs),
        "output_path": str(out),
        "no_embeddings": True,
        "skip_captions": True,
        "workers_per_stage": 1,
        **options,
    }
    entry.run(registry.parse_options(entry, raw), registry.RunOptions(metrics_port=None))
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return summary


def metas(out: Path) -> list[dict[str, Any]]:
    """Clip metadata records, sorted by start frame."""
    records = [json.loads(p.read_text()) for p in (out / "metas").glob("*.json")]
    return sorted(records, key=lambda m: m["span"]["start_frame"])


def test_overlapping_stride_limit_and_score_only(
    ray_cluster: dict[str, object], tmp_path: Path
) -> None:
    """2 s windows every 1.5 s, at most 3 per video, motion scored but nothing dropped."""
    _synth.scenes_video(tmp_path / "in" / "scenes.mp4")  # 80 frames at 10 fps
    out = tmp_path / "out"
    summary = run_split(
        tmp_path / "in",
        out,
        splitting_algorithm="fixed-stride",
        clip_len_s=2.0,
        clip_stride_s=1.5,
        limit_clips=3,
        motion_filter="score-only",
        motion_global_mean_threshold=1000.0,  # every clip is below: score-only keeps them
    )
    records = metas(out)
    spans = [(m["span"]["start_frame"], m["span"]["end_frame"]) for m in records]
    assert spans == [(0, 20), (15, 35), (30, 50)]
    # Written whenever computed; H.264 clips are scored from their motion vectors.
    assert all(m["scores"]["motion_global_mean"] > 0 for m in records)
    assert {m["motion_method"] for m in records} == {"motion-vectors"}
    assert summary["clips_out"] == 3 and "motion" not in summary["clips_filtered"]
    # The 5-frame window at 75 is below --min-clip-len-s (2 s): dropped and counted.
    assert summary["clips_filtered"] == {"min_length": 1}


def test_audio_is_kept_in_sync_and_encoder_is_chosen(
    ray_cluster: dict[str, object], tmp_path: Path
) -> None:
    """1 s clips keep the source's audio: the 2.0-2.5 s beep is in the third clip's first half."""
    media.beep_video(tmp_path / "in" / "beep.mp4")
    out = tmp_path / "out"
    run_split(
        tmp_path / "in", out, splitting_algorithm="fixed-stride", clip_len_s=1.0, min_clip_len_s=1
    )
    records = metas(out)
    assert [m["span"]["start_frame"] for m in records] == [0, 25, 50, 75]
    for meta in records:
        clip = out / meta["clip_path"]
        durations = media.stream_durations(clip)
        assert durations["audio"] == pytest.approx(durations["video"], abs=0.03)
        assert meta["audio_codec"] == "aac" and meta["video_codec"] == "h264"
        assert meta["scores"]["motion"] is None  # motion filter disabled by default
    beep = out / records[2]["clip_path"]
    assert media.audio_rms(beep, 0.02, 0.48) > 0.2
    assert media.audio_rms(beep, 0.55, 1.0) < 0.01
    assert media.audio_rms(out / records[1]["clip_path"], 0.0, 0.97) < 0.01


def test_whole_video_clip_with_vp9(ray_cluster: dict[str, object], tmp_path: Path) -> None:
    """whole-video makes one clip of the entire file; libvpx-vp9 encodes it, audio kept."""
    media.beep_video(tmp_path / "in" / "beep.mp4", seconds=3.0)
    out = tmp_path / "out"
    run_split(
        tmp_path / "in", out, splitting_algorithm="whole-video", transcode_encoder="libvpx-vp9"
    )
    (meta,) = metas(out)
    assert (meta["span"]["start_frame"], meta["span"]["end_frame"]) == (0, 75)
    assert meta["video_codec"] == "vp9" and meta["audio_codec"] == "aac"
    count, fps, codec = _synth.decode_count(out / meta["clip_path"])
    assert (count, codec) == (75, "vp9") and fps == pytest.approx(25)
    # Upstream's clip JSON fields with the same meaning.
    assert meta["duration_span"] == [0.0, 3.0] and meta["framerate"] == pytest.approx(25)
    assert meta["num_bytes"] == (out / meta["clip_path"]).stat().st_size
    assert meta["clip_location"] == str(out / meta["clip_path"])


def test_missing_or_unusable_encoders_are_clear_errors(tmp_path: Path) -> None:
    """An encoder this ffmpeg lacks is rejected as an option; NVENC without a GPU says why."""
    entry = registry.get_pipeline("video-split")
    raw = {
        "input_path": str(tmp_path),
        "output_path": str(tmp_path / "out"),
        "transcode_encoder": "libopenh264",
    }
    if "libopenh264" not in __import__("av").codecs_available:
        with pytest.raises(registry.PipelineOptionsError, match="not in this ffmpeg build"):
            registry.parse_options(entry, raw)
    with pytest.raises(EncoderUnavailableError, match="NVENC"):
        check_encoder("h264_nvenc", open_it=True)  # no NVIDIA GPU on this machine


def test_bit_rate_is_the_option_or_the_inputs() -> None:
    """4 Mbit/s by default; the input's own rate when asked and known, else the option's."""
    from cosmos_curate.pipelines.video.split.clip_encode import EncodeSettings
    from cosmos_curate.pipelines.video.tasks import VideoMeta

    meta = VideoMeta(10.0, 25.0, 160, 90, "h264", 250, bit_rate=1_234_000)
    assert EncodeSettings().bit_rate(meta) == 4_000_000
    assert EncodeSettings(use_input_bit_rate=True).bit_rate(meta) == 1_234_000
    unknown = VideoMeta(10.0, 25.0, 160, 90, "h264", 250)
    assert EncodeSettings(bitrate_mbps=2.5, use_input_bit_rate=True).bit_rate(unknown) == 2_500_000
