"""Motion filter cost per clip: scoring from motion vectors against today's luma decode.

Clips are made with ffmpeg (a textured picture from `testsrc2`, still or panned at 1 and
4 px per frame, H.264 as the transcode stage writes it: libx264 `veryfast`, yuv420p) at
each `--sizes` entry. On the same clips, in one process, alternating (so load drifts hit
both alike), each method runs `--repeats` times:

- luma: `motion.clip_motion_score`, the fallback and the only method before: decodes every
  frame, scales it to 64x36 gray (libswscale), mean absolute difference;
- vectors: `motion.clip_vector_motion`: decodes with `+export_mvs`, converts no frame,
  paints the vectors onto the 4-px cell map (`motion_vectors.py`);
- vectors, decode only: the same decode with the vectors read but not scored (how much of
  the vectors path is the decoder).

Printed: the median wall and CPU seconds per clip (CPU includes the decoder's threads) and
the vectors/luma ratios, as a Markdown table.

    .venv/bin/python benchmarks/bench_motion.py --sizes 640x360,1280x720 --seconds 10
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cosmos_curate.pipelines.video import decode
from cosmos_curate.pipelines.video.split.motion import (
    clip_motion_score,
    clip_vector_motion,
)

PANS = {"still": 0, "slow pan": 1, "fast pan": 4}  # px per frame


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly."""
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_clips(folder: Path, size: str, seconds: float) -> dict[str, bytes]:
    """The still and panned clips at `size` (WxH), `seconds` long, 25 fps."""
    width, height = (int(v) for v in size.split("x"))
    picture = folder / f"picture-{size}.png"
    span = width + 4 * 25 * int(seconds + 1)
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={span}x{height}", "-frames:v", "1", str(picture))
    clips = {}
    for name, step in PANS.items():
        path = folder / f"{name.replace(' ', '-')}-{size}.mp4"
        ffmpeg(
            "-loop", "1", "-framerate", "25", "-i", str(picture), "-t", str(seconds),
            "-vf", f"crop={width}:{height}:n*{step}:0", "-c:v", "libx264",
            "-preset", "veryfast", "-pix_fmt", "yuv420p", str(path),
        )  # fmt: skip
        clips[name] = path.read_bytes()
    return clips


def vectors_decode_only(encoded: bytes) -> int:
    """Decode with vectors exported, reading them but scoring nothing; frames with vectors."""
    return sum(v is not None for _, _, v in decode.iter_motion_vectors(io.BytesIO(encoded)))


METHODS: dict[str, Callable[[bytes], Any]] = {
    "luma (today, full decode to 64x36)": clip_motion_score,
    "vectors (score)": clip_vector_motion,
    "vectors, decode only": vectors_decode_only,
}


def timed(method: Callable[[bytes], Any], encoded: bytes) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    method(encoded)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    """Make the clips, time each method on each, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="640x360,1280x720")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"# {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
          f"{args.seconds:g} s clips at 25 fps, median of {args.repeats}")  # fmt: skip
    print("\n| clip | method | wall s | CPU s | CPU vs luma | scores |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for size in args.sizes.split(","):
            clips = make_clips(Path(scratch), size, args.seconds)
            for name, encoded in clips.items():
                runs: dict[str, list[tuple[float, float]]] = {m: [] for m in METHODS}
                for _ in range(args.repeats):
                    for label, method in METHODS.items():
                        runs[label].append(timed(method, encoded))
                cpu = {m: statistics.median(c for _, c in r) for m, r in runs.items()}
                wall = {m: statistics.median(w for w, _ in r) for m, r in runs.items()}
                luma_cpu = next(iter(cpu.values()))
                vector = clip_vector_motion(encoded)
                scores = (
                    f"luma {clip_motion_score(encoded):.2f}; global mean "
                    f"{vector.global_mean:.2e}, patch min {vector.per_patch_min_256:.2e}"
                    if vector is not None
                    else "no vectors"
                )
                for label in METHODS:
                    ratio = cpu[label] / luma_cpu if luma_cpu > 0 else float("nan")
                    shown = scores if label.startswith("luma") else ""
                    print(f"| {size} {name} | {label} | {wall[label]:.3f} | {cpu[label]:.3f} | "
                          f"{ratio:.2f}x | {shown} |")  # fmt: skip
    print(f"\nload at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
