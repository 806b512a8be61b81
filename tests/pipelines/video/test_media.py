"""Decoding, encoding, motion scoring and frame sampling on small real video files."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from tests.pipelines.video import _ffmpeg_inputs as media
from tests.pipelines.video import _synth

from cosmos_curate.pipelines.video import decode
from cosmos_curate.pipelines.video.frames import capped_size, even_subset, sample_indices
from cosmos_curate.pipelines.video.split.motion import clip_motion_score, motion_score


def test_probe_reads_metadata(tmp_path: Path) -> None:
    """Probe reports duration, fps, size, codec and frame count of an H.264 file."""
    path, _ = _synth.scenes_video(tmp_path / "a.mp4")
    meta = decode.probe(path)
    assert (meta.width, meta.height, meta.codec, meta.num_frames) == (160, 90, "h264", 80)
    assert meta.fps == pytest.approx(10.0)
    assert meta.duration_s == pytest.approx(8.0)


def test_probe_rejects_a_corrupt_file(tmp_path: Path) -> None:
    """A corrupt file raises UnreadableVideoError naming the file."""
    path = _synth.corrupt_video(tmp_path / "bad.mp4")
    with pytest.raises(decode.UnreadableVideoError, match=r"bad\.mp4"):
        decode.probe(path)


def test_encode_keeps_every_frame_of_the_span(tmp_path: Path) -> None:
    """Re-encoding frames [25, 55) at 72p gives 30 decodable H.264 frames at 10 fps."""
    path, _ = _synth.scenes_video(tmp_path / "a.mp4")
    width, height = decode.scaled_size(160, 90, 72)
    frames = (
        f for _, f in decode.iter_frames(path, 25, 55, width=width, height=height, fmt="yuv420p")
    )
    data, count = decode.encode_h264(frames, 10.0, width, height)
    out = tmp_path / "clip.mp4"
    out.write_bytes(data)
    assert count == 30
    assert _synth.decode_count(out) == (30, 10.0, "h264")
    assert decode.probe(out).height == 72


def test_scaled_size_is_even_and_never_upscales() -> None:
    """Target height keeps the aspect ratio with even dims; a larger target keeps the source."""
    assert decode.scaled_size(160, 90, 72) == (128, 72)
    assert decode.scaled_size(1920, 1080, 720) == (1280, 720)
    assert decode.scaled_size(161, 91, None) == (160, 90)
    assert decode.scaled_size(160, 90, 1080) == (160, 90)


def test_motion_score_separates_still_from_moving(tmp_path: Path) -> None:
    """A still shot scores ~0 after encoding; the moving square scores well above 0.5."""
    still = _synth.write_video(tmp_path / "still.mp4", _synth.static((90, 90, 90), 20))
    moving = _synth.write_video(tmp_path / "moving.mp4", _synth.moving_square((90, 90, 90), 20))
    assert clip_motion_score(still.read_bytes()) < 0.1
    assert clip_motion_score(moving.read_bytes()) > 1.0
    assert motion_score([]) == 0.0


def test_sample_indices_follow_the_extract_rate() -> None:
    """At 10 fps, 2 fps sampling picks every 5th frame; at least one frame for tiny clips."""
    assert sample_indices(30, 10.0, 2.0) == [0, 5, 10, 15, 20, 25]
    assert sample_indices(3, 10.0, 2.0) == [0]
    assert sample_indices(20, 10.0, 20.0) == list(range(20))


def test_even_subset_and_capped_size() -> None:
    """Caption frames spread over the clip; frames larger than the cap shrink to it."""
    assert even_subset(8, 4) == [1, 3, 5, 7]
    assert even_subset(3, 4) == [0, 1, 2]
    assert capped_size(1920, 1080) == (448, 252)
    assert capped_size(160, 90) == (160, 90)


def test_frames_from_bytes(tmp_path: Path) -> None:
    """Frames decode from in-memory mp4 bytes with their indices."""
    path = _synth.write_video(tmp_path / "m.mp4", _synth.moving_square((0, 0, 0), 6))
    frames = list(decode.frames_as_arrays(io.BytesIO(path.read_bytes())))
    assert [i for i, _ in frames] == list(range(6))
    assert frames[0][1].shape == (90, 160, 3)


def _threads_while_decoding(path: Path, threads: int) -> tuple[int, int]:
    """This process's thread count before decoding and while its second frame is in hand."""
    before = len(os.listdir("/proc/self/task"))
    frames = decode.iter_frames(path, width=48, height=27, threads=threads)
    next(frames)
    next(frames)
    during = len(os.listdir("/proc/self/task"))
    frames.close()
    return before, during


def test_frames_for_analysis_decode_on_the_callers_thread(tmp_path: Path) -> None:
    """A stage worker reserves one CPU: by default its decoder starts no threads of its own;
    `threads=0` (FFmpeg's choice, as a transcode asks) does, and yields the same frames."""
    media.ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25:duration=1",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(tmp_path / "a.mp4"),
    )  # fmt: skip
    path = tmp_path / "a.mp4"
    before, during = _threads_while_decoding(path, 1)
    assert during == before
    before, during = _threads_while_decoding(path, 0)
    assert during > before
    one = [a for _, a in decode.frames_as_arrays(path, width=48, height=27)]
    auto = [a for _, a in decode.frames_as_arrays(path, width=48, height=27, threads=0)]
    assert len(one) == len(auto) == 25
    assert all((a == b).all() for a, b in zip(one, auto, strict=True))
