"""Inputs made with the ffmpeg command line, as users' files are: audio, VFR, rotation, 10-bit.

All are tiny (160x90 or so, a few seconds) so that a test decodes them in a moment.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

BEEP_START_S, BEEP_END_S = 2.0, 2.5


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly; raise with its stderr on failure."""
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        msg = f"ffmpeg failed: {' '.join(cmd)}\n{result.stderr}"
        raise RuntimeError(msg)


def beep_video(path: Path, seconds: float = 4.0) -> Path:
    """25 fps test pattern with stereo 48 kHz audio: silence, a 440 Hz beep 2.0-2.5 s, silence."""
    path.parent.mkdir(parents=True, exist_ok=True)
    beep = f"if(between(t,{BEEP_START_S},{BEEP_END_S}),0.5*sin(2*PI*440*t),0)"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"testsrc=size=160x90:rate=25:duration={seconds}",
        "-f",
        "lavfi",
        "-i",
        f"aevalsrc='{beep}|{beep}':s=48000:d={seconds}",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        str(path),
    )
    return path


def audio_rms(path: Path, start_s: float, end_s: float) -> float:
    """RMS of a clip's decoded audio between two times (clip clock), 0 when silent."""
    import av
    import numpy as np

    chunks = []
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            data = frame.to_ndarray().astype("float64")
            t = float(frame.time or 0.0) + np.arange(data.shape[-1]) / frame.sample_rate
            chunks.append(data.reshape(-1, data.shape[-1])[:, (t >= start_s) & (t < end_s)])
    samples = np.concatenate(chunks, axis=1) if chunks else np.zeros((1, 0))
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


def stream_durations(path: Path) -> dict[str, float]:
    """Duration in seconds of the video and audio streams of a file (decoded, not declared)."""
    import av

    found: dict[str, float] = {}
    with av.open(str(path)) as container:
        for stream in (*container.streams.video[:1], *container.streams.audio[:1]):
            end = 0.0
            for frame in container.decode(stream):
                length = (
                    frame.samples / frame.sample_rate
                    if stream.type == "audio"
                    else 1 / float(stream.average_rate)
                )
                end = max(end, float(frame.time or 0.0) + length)
            container.seek(0)
            found[stream.type] = end
    return found


def _source(seconds: float, rate: int = 25, size: str = "160x90") -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}"]


def _tone(seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]


def container_video(path: Path, seconds: float = 3.0) -> Path:
    """A clip in the container its suffix names: .mkv (H.264 + AAC), .webm (VP9 + Opus),
    .mov (H.264 + AAC)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".webm":
        codecs = ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"]
        codecs += ["-c:a", "libopus"]
    else:
        codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"]
    ffmpeg(*_source(seconds), *_tone(seconds), *codecs, "-shortest", str(path))
    return path


def ten_bit_video(path: Path, seconds: float = 3.0) -> Path:
    """H.264 High 10 (yuv420p10le), as some cameras record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg(*_source(seconds), "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p10le", str(path))
    return path


def vfr_video(path: Path) -> Path:
    """Variable frame rate: 25 fps for 2 s, then every other frame (12.5 fps) for 2 s."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg(*_source(4.0), "-vf", "select='lt(t\\,2)+not(mod(n\\,2))'", "-fps_mode", "vfr",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path))
    return path


def rotated_video(path: Path, seconds: float = 2.0) -> Path:
    """A phone-style file: 160x90 coded frames (left quarter red) shown turned by 90 degrees
    (a display matrix, not turned pixels)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = path.with_name(f"{path.stem}.plain.mp4")
    ffmpeg("-f", "lavfi", "-i", f"color=c=blue:size=160x90:rate=25:duration={seconds}",
           "-vf", "drawbox=x=0:y=0:w=40:h=90:color=red:t=fill",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(plain))
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(path))
    plain.unlink()
    return path


def first_frame_rgb(path: Path) -> "np.ndarray":  # type: ignore[name-defined]  # noqa: F821, UP037
    """The first frame as ffmpeg shows it (display matrix applied), RGB."""
    import json as _json

    import numpy as np

    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=width,height:stream_side_data=rotation", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    info = _json.loads(probe.stdout)["streams"][0]
    rotation = int((info.get("side_data_list") or [{}])[0].get("rotation", 0))
    width, height = info["width"], info["height"]
    if rotation % 180:
        width, height = height, width
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3)


def audio_only(path: Path, seconds: float = 1.0) -> Path:
    """A file with a video suffix and only an audio stream."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg(*_tone(seconds), "-c:a", "aac", str(path))
    return path
