"""The VLM semantic filter and the video classifier in video-split, on the session's Ray cluster.

Input: the synthetic red/green/blue scenes video (10 fps, cut at a fixed 3 s stride into
clips of frames 0-30, 30-60 and 60-80), judged in caption windows of 16 frames.
- served model: an OpenAI-compatible server on 127.0.0.1 that answers each category by the
  dominant colour of the frames it is sent, so the decisions follow the video's content;
- local model: the tiny random LLaVA the caption tests use, whose answers are not JSON:
  the filter records them and drops every clip as unreadable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.pipelines.video import _annotation_fakes as fakes
from tests.pipelines.video import _synth

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.video.split.pipeline import split_videos

pytestmark = pytest.mark.integration


def _run(inputs: Path, out: Path, **flags: Any) -> dict[str, dict[str, Any]]:
    """Parse `flags` as the CLI does, run, return every clip's record by its first frame."""
    raw = {
        "input_path": str(inputs),
        "output_path": str(out),
        "splitting_algorithm": "fixed-stride",
        "clip_len_s": 3.0,
        "min_clip_len_s": 1.0,
        "no_embeddings": True,
        "skip_captions": True,
        "captioning_window_size": 16,
        "captioning_remainder_threshold": 8,
        "workers_per_stage": 1,
        **flags,
    }
    options = registry.parse_options(registry.get_pipeline("video-split"), raw)
    split_videos(options, RunOptions(metrics_port=None, check_weights=False))
    records = [*out.glob("metas/*.json"), *out.glob("filtered_clips/*.json")]
    loaded = [json.loads(p.read_text()) for p in records]
    return {str(r["span"]["start_frame"]): r for r in loaded}


@pytest.fixture
def scenes(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    _synth.scenes_video(folder / "scenes.mp4")
    return folder


def test_served_model_filters_and_classifies_by_content(
    ray_cluster: dict[str, object], scenes: Path, tmp_path: Path
) -> None:
    """The red clip is dropped by the filter with its reason; the others are labelled."""
    with fakes.colour_judge() as server:
        clips = _run(
            scenes,
            tmp_path / "out",
            captioning_sampling_fps=10.0,
            vlm_filter="enable",
            vlm_filter_categories="red",
            vlm_filter_endpoint="openai",
            vlm_filter_openai_base_url=server.url,
            video_classifier="score-only",
            video_classifier_use_custom_categories=True,
            video_classifier_allow="green,blue",
            video_classifier_endpoint="openai",
            openai_base_url=server.url,
        )
    red = clips["0"]
    assert red["filtered_by"] == "vlm_filter" and red["qwen_rejection_stage"] == "semantic"
    assert red["filter_reason"] == "shows red in 2 of 2 windows (> 0.5)"
    assert red["vlm_filter"]["model"] == fakes.SERVED_MODEL
    assert [w["yes"] for w in red["vlm_filter"]["windows"]] == [["red"], ["red"]]
    assert (tmp_path / "out" / red["clip_path"]).is_file()
    assert "video_classifier" not in red  # a dropped clip goes to no later check
    green, blue = clips["30"], clips["60"]
    for kept in (green, blue):
        assert kept.get("filtered_by") is None and kept["vlm_filter"]["passed"] is True
        assert kept["video_classifier"]["mode"] == "score-only"
    assert green["qwen_type_classification"] == ["green", "blue"]  # blue enters at frame 55
    assert blue["qwen_type_classification"] == ["blue"]
    assert [(w["start_frame"], w["end_frame"]) for w in green["vlm_filter"]["windows"]] == [
        (0, 16),
        (16, 30),
    ]
    # `models` holds the flag's value, as for captions; the check's record the served name.
    assert green["models"]["vlm_filter"] == "auto"
    # One request per window: 5 for the filter, 3 for the classifier (the red clip's skipped).
    prompts = [r["messages"][0]["content"][0]["text"] for r in server.requests]
    assert sum('"red"' in p for p in prompts) == 5 and sum('"blue"' in p for p in prompts) == 3


def test_local_vlm_unreadable_answers(
    ray_cluster: dict[str, object], scenes: Path, tmp_path: Path
) -> None:
    """The tiny VLM's answers are recorded per window; none reads as JSON, so all clips drop."""
    _synth.save_tiny_vlm()
    clips = _run(
        scenes,
        tmp_path / "out",
        caption_frames=2,
        vlm_filter="enable",
        vlm_filter_categories="red,blue",
        vlm_filter_model_id=_synth.TINY_VLM_ID,
        vlm_filter_max_output_tokens=4,
        vlm_filter_num_gpus=0.25,
    )
    assert sorted(clips) == ["0", "30", "60"]
    for record in clips.values():
        assert (
            record["filtered_by"] == "vlm_filter" and record["qwen_rejection_stage"] == "semantic"
        )
        assert record["filter_reason"].startswith("no window's answer could be read")
        checked = record["vlm_filter"]
        assert checked["mode"] == "enable" and checked["model"] == _synth.TINY_VLM_ID
        assert record["models"]["vlm_filter"] == _synth.TINY_VLM_ID
        assert all(w["answer"] and w["error"] == "unreadable answer" for w in checked["windows"])
