"""The on-screen text filter (`--artificial-text-filter enable`) on real decoded video.

Pure tests pin the track rules (`text_tracks.judge_text`): fixed text is overlay, moving
text and a stray box are not, corner text counts by share of frames and can be ignored.
The end-to-end test runs video-split on the session's Ray cluster over two 2 s 160x120
clips made with ffmpeg, one with a caption burnt in by `drawtext`: that clip is dropped
with its reason and kept under filtered_clips/, the other is written with its verdict.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.pipelines.video._ffmpeg_inputs import ffmpeg

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.video.split.pipeline import split_videos
from cosmos_curate.pipelines.video.split.text_tracks import Box, TextRules, judge_text

W, H = 160, 120


def _frames(boxes: list[list[Box]]) -> list[tuple[int, list[Box]]]:
    return [(3 * i, b) for i, b in enumerate(boxes)]


def test_fixed_text_is_overlay_moving_text_is_not() -> None:
    """A box that stays put for 4+ sampled frames is overlay; one sliding 20 px a frame is not."""
    fixed = _frames([[(40, 90, 110, 108)]] * 6)
    verdict = judge_text(fixed, W, H, TextRules())
    assert verdict.has_text and verdict.segments[0].kind == "stable"
    assert verdict.reason is not None and "6 of 6 sampled frames" in verdict.reason
    sliding = _frames([[(10 + 20 * i, 40, 60 + 20 * i, 58)] for i in range(6)])
    assert not judge_text(sliding, W, H, TextRules()).has_text
    stray = _frames([[(40, 50, 110, 68)], [], [], [], [], []])
    assert not judge_text(stray, W, H, TextRules()).has_text  # too short to be stable
    whole = _frames([[(0, 0, W - 1, H - 1)]] * 6)  # the detector's answer to a flat frame
    assert not judge_text(whole, W, H, TextRules()).has_text


def test_corner_text_by_share_of_frames() -> None:
    """A logo-sized box in a corner on 2 of 10 frames flags the clip; on 1 of 20 it does not."""
    logo: Box = (2, 2, 14, 10)  # centre (8, 6): top-left zone (16 x 12 px)
    moving = _frames([[logo] if i in (0, 5) else [] for i in range(10)])
    rules = TextRules(min_duration_frames=100)  # leave the stable-text rule out
    assert judge_text(moving, W, H, rules).segments[0].kind == "corner"
    once = _frames([[logo] if i == 0 else [] for i in range(20)])
    assert not judge_text(once, W, H, rules).has_text
    assert not judge_text(
        moving, W, H, TextRules(corner_detection=False, min_duration_frames=100)
    ).has_text
    fixed_logo = _frames([[logo]] * 6)
    assert judge_text(fixed_logo, W, H, TextRules()).has_text
    assert not judge_text(fixed_logo, W, H, TextRules(ignore_corner_region=True)).has_text


def _video(path: Path, caption: str | None) -> None:
    scene = f"color=c=0x2060a0:size={W}x{H}:rate=24:duration=2"
    draw = "drawbox=x='20+t*40':y=30:w=24:h=24:color=white:t=fill"
    if caption is not None:
        draw += (
            f",drawtext=text='{caption}':fontcolor=white:fontsize=18"
            ":box=1:boxcolor=black@0.6:x=30:y=92"
        )
    ffmpeg(
        "-f", "lavfi", "-i", scene, "-vf", draw, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)
    )


def _json(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        json.loads(p.read_text())["source_video"].rsplit("/", 1)[-1]: json.loads(p.read_text())
        for p in sorted(folder.glob("*.json"))
    }


@pytest.mark.integration
def test_burnt_in_caption_is_dropped_plain_clip_kept(
    ray_cluster: dict[str, object], tmp_path: Path
) -> None:
    """The drawtext clip lands in filtered_clips/ with the reason; the plain one in metas/."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    _video(inputs / "subtitled.mp4", "LIVE 24 NEWS")
    _video(inputs / "plain.mp4", None)
    out = tmp_path / "out"
    entry = registry.get_pipeline("video-split")
    options = registry.parse_options(
        entry,
        {
            "input_path": str(inputs),
            "output_path": str(out),
            "splitting_algorithm": "whole-video",
            "artificial_text_filter": "enable",
            "no_embeddings": True,
            "skip_captions": True,
            "workers_per_stage": 1,
        },
    )
    split_videos(options, RunOptions(metrics_port=None, check_weights=False))

    dropped = _json(out / "filtered_clips")
    kept = _json(out / "metas")
    assert list(dropped) == ["subtitled.mp4"] and list(kept) == ["plain.mp4"]
    record = dropped["subtitled.mp4"]
    assert record["filtered_by"] == "artificial_text"
    assert record["filter_reason"].startswith("overlay text: stable text on ")
    assert record["post_production_text"] is True
    assert (out / record["clip_path"]).is_file()  # the dropped clip's video is kept
    text = record["artificial_text"]
    assert text["frames_sampled"] == 16 and text["frames_with_text"] >= 12  # 48 frames / 3
    assert text["segments"][0]["kind"] == "stable" and text["device"] == "cpu"
    plain = kept["plain.mp4"]
    assert plain["post_production_text"] is False and plain.get("filtered_by") is None
    assert plain["artificial_text"]["segments"] == []
    assert plain["models"]["artificial_text"].startswith("PP-OCR")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["clips_filtered"]["artificial_text"] == 1 and summary["clips_out"] == 1
