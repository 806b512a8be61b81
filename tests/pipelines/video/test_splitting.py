"""Pure splitting logic: cut detection, shot spans, length rules, fixed stride, chunking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.pipelines.video import _synth

from cosmos_curate.pipelines.video import decode
from cosmos_curate.pipelines.video.split.shots import (
    CutDetector,
    detect_cuts,
    detect_shots,
    difference_scores,
    plan_chunks,
)
from cosmos_curate.pipelines.video.split.spans import (
    LengthRules,
    MaxLengthMode,
    SpanResult,
    apply_length_rules,
    fixed_stride_result,
    fixed_stride_spans,
    limit_spans,
    spans_from_cuts,
    spans_from_transitions,
)
from cosmos_curate.pipelines.video.tasks import ChunkTask


def _chunk(path: Path, start: int = 0, end: int | None = None) -> ChunkTask:
    meta = decode.probe(path)
    return ChunkTask(
        source=str(path),
        video_id="v",
        meta=meta,
        index=0,
        num_chunks=1,
        start_frame=start,
        end_frame=meta.num_frames if end is None else end,
    )


def test_detect_cuts_finds_hard_cuts_between_arrays() -> None:
    """Solid-colour scenes switching at frames 10 and 25 give exactly those cuts."""
    frames = [
        *_synth.static((200, 0, 0), 10),
        *_synth.static((0, 200, 0), 15),
        *_synth.static((0, 0, 200), 10),
    ]
    assert detect_cuts(difference_scores(frames)) == [10, 25]


def test_steady_motion_is_not_a_cut() -> None:
    """A bouncing square changes every frame, yet no frame stands out: no cut."""
    assert detect_cuts(difference_scores(_synth.moving_square((40, 40, 40), 40))) == []


def test_a_single_spike_inside_motion_is_a_cut_but_noise_is_not() -> None:
    """The adaptive test keeps a spike well above its neighbours, drops small wiggles."""
    scores = [0.0, 5, 6, 5, 80, 6, 5, 5, 7, 9, 6]
    assert detect_cuts(scores) == [4]
    assert detect_cuts([0.0, 5, 6, 11, 6, 5]) == []  # below min_score


def test_min_shot_frames_suppresses_flicker() -> None:
    """Two spikes closer than min_shot_frames yield only the first cut."""
    scores = [0.0, 0, 0, 90, 0, 90, 0, 0, 0]
    assert detect_cuts(scores, CutDetector(min_shot_frames=3)) == [3]
    assert detect_cuts(scores, CutDetector(min_shot_frames=1)) == [3, 5]


def test_detect_shots_on_an_encoded_video_hits_planted_cuts(tmp_path: Path) -> None:
    """Decoding an H.264 file with cuts at 25 and 55 finds them within one frame."""
    path, cuts = _synth.scenes_video(tmp_path / "scenes.mp4")
    spans = detect_shots(path, _chunk(path), CutDetector())
    found = [a for a, _ in spans[1:]]
    assert len(found) == len(cuts)
    assert all(abs(f - c) <= 1 for f, c in zip(found, cuts, strict=True))
    assert spans[0][0] == 0 and spans[-1][1] == 80


def test_detect_shots_in_a_chunk_only_decodes_that_window(tmp_path: Path) -> None:
    """A chunk [30, 70) reports shots inside it only, split at the cut at 55."""
    path, _ = _synth.scenes_video(tmp_path / "scenes.mp4")
    assert detect_shots(path, _chunk(path, 30, 70), CutDetector()) == [(30, 55), (55, 70)]


def test_spans_from_cuts_ignores_cuts_outside() -> None:
    """Cuts at or outside the window bounds do not make empty spans."""
    assert spans_from_cuts(10, 50, [10, 20, 50, 60]) == [(10, 20), (20, 50)]


def test_stride_mode_cuts_long_shots_into_max_pieces_and_drops_a_short_tail() -> None:
    """10 fps, min 1 s, max 3 s: a 5-frame shot is dropped; 70 frames -> 30+30 (+10 kept)."""
    rules = LengthRules(min_s=1.0, max_s=3.0)
    result = apply_length_rules([(0, 5), (5, 75), (75, 95)], 10.0, rules)
    assert result == SpanResult([(5, 35), (35, 65), (65, 75), (75, 95)], 1)
    short_tail = apply_length_rules([(0, 65)], 10.0, rules)
    assert short_tail == SpanResult([(0, 30), (30, 60)], 1)  # the 5-frame tail is dropped


def test_truncate_mode_keeps_the_first_max_frames() -> None:
    """`truncate` keeps the first 3 s of a 7 s shot and nothing after."""
    rules = LengthRules(min_s=1.0, max_s=3.0, max_mode=MaxLengthMode.TRUNCATE)
    assert apply_length_rules([(0, 70)], 10.0, rules) == SpanResult([(0, 30)], 0)


def test_crop_takes_frames_off_both_ends_and_min_frames_count() -> None:
    """0.5 s crop at 10 fps removes 5 frames each side; min 48 frames beats min 2 s."""
    rules = LengthRules(min_s=2.0, max_s=60.0, min_frames=48, crop_s=0.5)
    result = apply_length_rules([(0, 55), (55, 200)], 10.0, rules)
    assert result == SpanResult([(60, 195)], 1)  # 55 frames crop to 45 < 48: dropped
    assert rules.min_length(10.0) == 48


def test_transitions_become_shots() -> None:
    """One flagged frame = a hard cut after it; a run of flags (a fade) belongs to no shot."""
    flags = np.zeros(30, dtype=bool)
    flags[9] = True  # last frame of shot 1
    flags[19:23] = True  # a dissolve
    assert spans_from_transitions(flags, offset=100) == [(100, 110), (110, 119), (123, 130)]
    assert spans_from_transitions(np.zeros(5, dtype=bool)) == [(0, 5)]


def test_fixed_stride_spans_cover_the_window() -> None:
    """2 s clips at 10 fps over [0, 45): four full clips and a 5-frame remainder."""
    assert fixed_stride_spans(0, 45, 10.0, 2.0) == [(0, 20), (20, 40), (40, 45)]


def test_fixed_stride_with_a_separate_step_overlaps_or_leaves_gaps() -> None:
    """Stride 1 s overlaps 2 s windows; stride 3 s leaves 1 s gaps; short tails are dropped."""
    overlapping = fixed_stride_spans(0, 50, 10.0, 2.0, stride_s=1.0)
    assert overlapping[:3] == [(0, 20), (10, 30), (20, 40)]
    gapped = fixed_stride_spans(0, 50, 10.0, 2.0, stride_s=3.0)
    assert gapped == [(0, 20), (30, 50)]
    kept = fixed_stride_result(overlapping, 10.0, min_s=2.0)
    assert kept.spans == [(0, 20), (10, 30), (20, 40), (30, 50)] and kept.dropped == 1


def test_limit_keeps_the_earliest_spans() -> None:
    """A per-video limit keeps the first N spans in time."""
    result = limit_spans(SpanResult([(20, 30), (0, 10), (10, 20)], 2), 2)
    assert result == SpanResult([(0, 10), (10, 20)], 2)


@pytest.mark.parametrize(
    ("num_frames", "fps", "chunk_s", "expected"),
    [
        (100, 10.0, 3.0, [(0, 30), (30, 60), (60, 90), (90, 100)]),
        (100, 10.0, 600.0, [(0, 100)]),
        (100, 10.0, None, [(0, 100)]),
    ],
)
def test_plan_chunks_bounds_each_task(
    num_frames: int, fps: float, chunk_s: float | None, expected: list[tuple[int, int]]
) -> None:
    """Chunks tile the video, last one short; no chunk length: the whole video is one."""
    assert plan_chunks(num_frames, fps, chunk_s) == expected


def test_a_two_hour_video_is_chunked_not_held_whole() -> None:
    """A 2 h 30 fps film becomes 24 five-minute chunks of at most 9000 frames each."""
    chunks = plan_chunks(2 * 3600 * 30, 30.0, 300.0)
    assert len(chunks) == 24
    assert max(b - a for a, b in chunks) == 9000


def test_difference_scores_are_zero_for_identical_frames() -> None:
    """Identical frames score 0; a full black-to-white switch scores 255."""
    frames = [np.zeros((4, 4, 3), np.uint8)] * 2 + [np.full((4, 4, 3), 255, np.uint8)]
    assert difference_scores(frames) == [0.0, 0.0, 255.0]


class _Frame:
    """Stands in for a decoded frame: only its presentation time matters to the timeline."""

    def __init__(self, time: float) -> None:
        self.time = time


def test_cfr_timeline_drops_duplicates_and_repeats_into_gaps() -> None:
    """At 10 fps: 0.0, 0.1, 0.12 (same index), 0.4 (gap) -> indices 0..4, 2 and 3 repeated."""
    timeline = decode.CfrTimeline(t0=0.0, rate=10.0, start=0, end=5)
    frames = [_Frame(t) for t in (0.0, 0.1, 0.12, 0.4, 0.5)]
    out = [(i, f.time) for f in frames for i, f in timeline.push(f)]
    assert out == [(0, 0.0), (1, 0.1), (2, 0.12), (3, 0.12), (4, 0.4)]
    assert timeline.done


def test_cfr_timeline_fills_the_span_start_from_the_frame_before() -> None:
    """A span starting between two frames gets the earlier frame at its first index."""
    timeline = decode.CfrTimeline(t0=0.0, rate=10.0, start=2, end=4)
    out = [(i, f.time) for f in map(_Frame, (0.0, 0.1, 0.3, 0.5)) for i, f in timeline.push(f)]
    assert out == [(2, 0.1), (3, 0.3)]
