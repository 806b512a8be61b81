"""Pure splitting logic: cut detection, shot spans, length limits, fixed stride, chunking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.pipelines.video import _synth

from cosmos_curate.pipelines.video import decode
from cosmos_curate.pipelines.video.splitting import (
    CutDetector,
    LengthLimits,
    detect_cuts,
    detect_shots,
    difference_scores,
    fit_lengths,
    fixed_stride_spans,
    plan_chunks,
    spans_from_cuts,
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


def test_fit_lengths_drops_short_and_splits_long() -> None:
    """At 10 fps with min 1 s / max 3 s: 5 frames dropped, 70 frames -> 3 equal parts."""
    kept, dropped = fit_lengths([(0, 5), (5, 75), (75, 95)], 10.0, LengthLimits(1.0, 3.0))
    assert dropped == 1
    assert kept == [(5, 28), (28, 52), (52, 75), (75, 95)]
    assert all(10 <= b - a <= 30 for a, b in kept)


def test_fixed_stride_spans_cover_the_window() -> None:
    """2 s clips at 10 fps over [0, 45): four full clips and a 5-frame remainder."""
    assert fixed_stride_spans(0, 45, 10.0, 2.0) == [(0, 20), (20, 40), (40, 45)]


@pytest.mark.parametrize(
    ("num_frames", "fps", "chunk_s", "align", "expected"),
    [
        (100, 10.0, 3.0, 1, [(0, 30), (30, 60), (60, 90), (90, 100)]),
        (100, 10.0, 3.0, 20, [(0, 20), (20, 40), (40, 60), (60, 80), (80, 100)]),
        (100, 10.0, 600.0, 1, [(0, 100)]),
    ],
)
def test_plan_chunks_bounds_each_task(
    num_frames: int, fps: float, chunk_s: float, align: int, expected: list[tuple[int, int]]
) -> None:
    """Chunks tile the video, last one short; alignment rounds chunk size to the stride."""
    assert plan_chunks(num_frames, fps, chunk_s, align) == expected


def test_a_two_hour_video_is_chunked_not_held_whole() -> None:
    """A 2 h 30 fps film becomes 24 five-minute chunks of at most 9000 frames each."""
    chunks = plan_chunks(2 * 3600 * 30, 30.0, 300.0)
    assert len(chunks) == 24
    assert max(b - a for a, b in chunks) == 9000


def test_difference_scores_are_zero_for_identical_frames() -> None:
    """Identical frames score 0; a full black-to-white switch scores 255."""
    frames = [np.zeros((4, 4, 3), np.uint8)] * 2 + [np.full((4, 4, 3), 255, np.uint8)]
    assert difference_scores(frames) == [0.0, 0.0, 255.0]
