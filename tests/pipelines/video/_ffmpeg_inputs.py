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
