"""The tour's sample video: generated, with the cuts and the tones its command announces."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np

from cosmos_curate.pipelines.video.sample_video import SAMPLE_RATE, SAMPLE_SHOTS, cut_times
from cosmos_curate.pipelines.video.split.shots import detect_cuts, difference_scores


def test_sample_has_its_announced_cuts_and_a_tone_per_shot(tmp_path: Path) -> None:
    """`python -m ...sample_video DIR`: 20 s, 320x180, hard cuts at 5/10/15 s that the shot
    detector finds, and each shot's own tone (220, 330, 440, 550 Hz)."""
    proc = subprocess.run(
        [sys.executable, "-m", "cosmos_curate.pipelines.video.sample_video", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "sample.mp4"
    assert f"wrote {path} (20 s, cuts at 5, 10, 15 s)" in proc.stdout
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (320, 180)
        frames = [f.to_ndarray(format="gray").astype(np.uint8) for f in container.decode(stream)]
    assert len(frames) == 20 * SAMPLE_RATE
    cuts = detect_cuts(difference_scores(frames))
    assert cuts == [round(t * SAMPLE_RATE) for t in cut_times(SAMPLE_SHOTS)]
    with av.open(str(path)) as container:
        audio = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    rate, start = 48000, 0.0
    for shot in SAMPLE_SHOTS:
        middle = audio[int((start + 1) * rate): int((start + shot.seconds - 1) * rate)]
        spectrum = np.abs(np.fft.rfft(middle))
        peak_hz = np.argmax(spectrum) * rate / len(middle)
        assert abs(peak_hz - shot.tone_hz) < 2, (shot, peak_hz)
        start += shot.seconds
