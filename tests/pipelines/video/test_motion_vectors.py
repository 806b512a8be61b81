"""Motion scores from decoder motion vectors, on clips made with the ffmpeg command line.

A textured still picture is panned across the frame at 0, 1 and 4 px per frame (160x120,
25 fps, 2 s). No Ray: the filter stage runs in the test process.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.pipelines.video._ffmpeg_inputs import ffmpeg

from cosmos_curate.pipelines.video import decode
from cosmos_curate.pipelines.video.split.motion import (
    MotionFilterStage,
    MotionMethod,
    MotionThresholds,
    clip_motion_score,
    clip_vector_motion,
)
from cosmos_curate.pipelines.video.split.motion_vectors import VectorMotionMap
from cosmos_curate.pipelines.video.tasks import ClipTask

PANS = {"static": 0, "slow": 1, "fast": 4}  # px per frame


@pytest.fixture(scope="module")
def picture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("picture") / "wide.png"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=800x256", "-frames:v", "1", str(path))
    return path


def _pan(picture: Path, path: Path, step: int, codec: str = "libx264") -> Path:
    """160x120 of `picture`, moving `step` px per frame, 2 s at 25 fps."""
    ffmpeg(
        "-loop", "1", "-framerate", "25", "-i", str(picture), "-t", "2",
        "-vf", f"crop=160:120:n*{step}:0", "-c:v", codec, "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def pans(picture: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("pans")
    made = {name: _pan(picture, folder / f"{name}.mp4", step) for name, step in PANS.items()}
    return {name: path.read_bytes() for name, path in made.items()}


def _clip(encoded: bytes, path: Path) -> ClipTask:
    path.write_bytes(encoded)
    meta = decode.probe(path)
    return ClipTask(
        source=str(path), video_id="v", clip_id=path.stem, meta=meta, chunk_index=0,
        start_frame=0, end_frame=meta.num_frames, encoded=encoded,
    )  # fmt: skip


def test_vector_scores_order_static_slow_and_fast_pans(pans: dict[str, bytes]) -> None:
    """Both motion-vector scores rise static < slow < fast, in the luma difference's order."""
    vector = {name: clip_vector_motion(data) for name, data in pans.items()}
    luma = {name: clip_motion_score(data) for name, data in pans.items()}
    order = list(PANS)
    assert all(v is not None for v in vector.values())
    global_means = [vector[n].global_mean for n in order]  # type: ignore[union-attr]
    patch_mins = [vector[n].per_patch_min_256 for n in order]  # type: ignore[union-attr]
    assert global_means == sorted(global_means) and len(set(global_means)) == 3, vector
    assert patch_mins == sorted(patch_mins) and len(set(patch_mins)) == 3, vector
    assert [luma[n] for n in order] == sorted(luma.values()), luma
    # On upstream's scale: the still clip is below its default threshold, the pans above.
    defaults = MotionThresholds()
    assert global_means[0] < defaults.global_mean < global_means[1]
    # A 1 px/frame pan over a 160+120 px frame is about 1/280 per frame.
    assert 0.5 / 280 < global_means[1] < 4 / 280


def test_the_filter_drops_the_still_clip_and_says_which_method(
    pans: dict[str, bytes], tmp_path: Path
) -> None:
    """With upstream's thresholds the still clip is dropped, the pans kept, all by vectors."""
    tasks = [_clip(data, tmp_path / f"{name}.mp4") for name, data in pans.items()]
    MotionFilterStage(MotionThresholds()).process_data(tasks)
    by_name = {t.clip_id: t for t in tasks}
    assert by_name["static"].filtered_by == "motion"
    assert (by_name["static"].filter_reason or "").startswith("motion global mean ")
    assert by_name["slow"].filtered_by is None and by_name["fast"].filtered_by is None
    for task in tasks:
        assert task.motion_method == MotionMethod.MOTION_VECTORS
        assert task.motion_global_mean is not None and task.motion_score is None


def test_a_codec_without_vectors_falls_back_to_the_luma_difference(
    picture: Path, tmp_path: Path
) -> None:
    """A VP9 clip has no vectors: it is scored (and kept) by the luma difference instead."""
    still = _pan(picture, tmp_path / "still.webm", 0, codec="libvpx-vp9").read_bytes()
    fast = _pan(picture, tmp_path / "fast.webm", 4, codec="libvpx-vp9").read_bytes()
    assert clip_vector_motion(fast) is None
    tasks = [_clip(still, tmp_path / "still.webm"), _clip(fast, tmp_path / "fast.webm")]
    MotionFilterStage(MotionThresholds()).process_data(tasks)
    for task in tasks:
        assert task.motion_method == MotionMethod.LUMA_DIFFERENCE
        assert task.motion_global_mean is None and task.motion_score is not None
    assert tasks[0].filtered_by == "motion" and tasks[1].filtered_by is None
    assert (tasks[0].filter_reason or "").startswith("motion score ")


def test_a_still_half_of_the_frame_is_caught_by_the_per_patch_score(
    picture: Path, tmp_path: Path
) -> None:
    """512x256, left half panning, right half still: global motion passes, a patch does not."""
    path = tmp_path / "half.mp4"
    ffmpeg(
        "-loop", "1", "-framerate", "25", "-i", str(picture), "-t", "2", "-filter_complex",
        "[0]split[a][b];[a]crop=256:256:n*3:0[l];[b]crop=256:256:500:0[r];[l][r]hstack",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    vector = clip_vector_motion(path.read_bytes())
    assert vector is not None
    assert vector.per_patch_min_256 < vector.global_mean / 100
    task = _clip(path.read_bytes(), path)
    MotionFilterStage(MotionThresholds(per_patch_min_256=1e-4)).process_data([task])
    assert (task.filter_reason or "").startswith("motion per-patch min ")


def test_vector_map_paints_blocks_onto_cells() -> None:
    """One 16x16 block moved 8 px in a 32x16 frame: half the frame moves 8 / 48 per frame."""
    vectors = np.zeros(2, dtype=[
        ("source", "<i4"), ("w", "u1"), ("h", "u1"), ("src_x", "<i2"), ("src_y", "<i2"),
        ("dst_x", "<i2"), ("dst_y", "<i2"), ("flags", "<u8"), ("motion_x", "<i4"),
        ("motion_y", "<i4"), ("motion_scale", "<u2"),
    ])  # fmt: skip
    vectors["w"], vectors["h"], vectors["motion_scale"] = 16, 16, 4
    vectors["dst_x"], vectors["dst_y"] = [8, 24], 8
    vectors["motion_x"] = [32, 0]  # 8 px at quarter-pel scale, then a still block
    motion = VectorMotionMap(32, 16)
    motion.add(vectors)
    motion.add(vectors[:0])  # a frame whose blocks carry no vectors: nothing moves
    scores = motion.scores()
    assert scores is not None
    assert scores.global_mean == pytest.approx(8 / 48 / 2 / 2)
    assert scores.per_patch_min_256 == pytest.approx(scores.global_mean)  # one patch
    assert VectorMotionMap(32, 16).scores() is None
