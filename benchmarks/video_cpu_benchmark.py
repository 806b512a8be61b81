"""Hours of video processed per hour of wall time by `video-split` on the CPU path.

Makes synthetic videos (moving scenes with a hard cut every `--shot-s` seconds), tiny
random-init models in a scratch weights folder (no downloads: the numbers measure the video
work and the pipeline, not real model inference), runs the pipeline on an embedded Ray
cluster without GPUs, and prints a per-stage table plus the overall rate.

    PYTHONPATH=. python benchmarks/video_cpu_benchmark.py --videos 2 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_video(path: Path, args: argparse.Namespace) -> None:
    """Moving squares on a background that changes colour every `shot_s` seconds."""
    fps, width, height = args.fps, args.width, args.height
    rng = np.random.default_rng(int.from_bytes(path.name.encode(), "little") % 2**32)
    total, per_shot = round(args.seconds * fps), max(1, round(args.shot_s * fps))
    side = height // 4

    def frames() -> Iterator[np.ndarray]:
        colour = rng.integers(0, 256, 3)
        for i in range(total):
            if i and i % per_shot == 0:
                colour = rng.integers(0, 256, 3)
            frame = np.empty((height, width, 3), np.uint8)
            frame[:] = colour
            span = width - side
            x = abs((7 * i) % (2 * span) - span)
            frame[height // 3 : height // 3 + side, x : x + side] = 255
            yield frame

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20"}
        for frame in frames():
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode(None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=180)
    parser.add_argument("--shot-s", type=float, default=5.0)
    parser.add_argument("--skip-captions", action="store_true")
    parser.add_argument("--workers-per-stage", type=int, default=None)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="video-bench-"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ["CURATE_WEIGHTS_DIR"] = str(scratch / "weights")
    os.environ["CURATE_RUNS_DIR"] = str(scratch / "runs")

    from tests.pipelines.video import _synth

    from cosmos_curate.models.aesthetics import AESTHETIC_MODEL_ID
    from cosmos_curate.models.clip import CLIP_MODEL_ID
    from cosmos_curate.pipelines import registry
    from cosmos_curate.pipelines.video.split.pipeline import VideoSplitOptions, run_video_split

    _synth.save_tiny_clip(CLIP_MODEL_ID)
    _synth.save_tiny_aesthetic_head(AESTHETIC_MODEL_ID)
    _synth.save_tiny_vlm()
    inputs = scratch / "in"
    inputs.mkdir()
    for i in range(args.videos):
        make_video(inputs / f"v{i}.mp4", args)

    options = VideoSplitOptions(
        input_path=str(inputs),
        output_path=str(scratch / "out"),
        min_clip_len_s=1.0,
        caption_model_id=_synth.TINY_VLM_ID,
        caption_max_tokens=16,
        skip_captions=args.skip_captions,
        workers_per_stage=args.workers_per_stage,
    )
    started = time.monotonic()
    result = run_video_split(options, registry.RunOptions(metrics_port=None, num_gpus=0))
    wall = time.monotonic() - started
    summary = json.loads((scratch / "out" / "summary.json").read_text())

    print(
        f"\nvideo-split CPU benchmark: {args.videos} x {args.seconds:g} s "
        f"{args.width}x{args.height}@{args.fps} fps, cpus={os.cpu_count()}, no GPU, tiny models"
    )
    print(f"{'stage':<22}{'tasks':>7}{'s/task':>9}{'busy s':>9}")
    for stage in result.progress.stages:
        per = stage.seconds_per_task or 0.0
        print(
            f"{stage.name:<22}{stage.tasks_done:>7}{per:>9.3f}{stage.process_seconds_total:>9.2f}"
        )
    hours = summary["video_hours_processed"]
    print(
        f"\nclips out {summary['clips_out']}, filtered {summary['clips_filtered']}, "
        f"failures {summary['failures']}"
    )
    print(f"video processed  {hours * 3600:9.1f} s")
    print(f"wall time        {wall:9.1f} s (including Ray start and model loading)")
    print(f"rate             {summary['video_hours_per_wall_hour']:9.2f} h video / h wall")
    busy = sum(stage.process_seconds_total for stage in result.progress.stages)
    # Start-up dominates short runs; this is the steady-state rate one core would reach.
    print(f"per busy core    {hours * 3600 / busy if busy else 0.0:9.2f} h video / h of stage time")


if __name__ == "__main__":
    main()
