"""Caption and embedding throughput of `video-split` on one CPU core, before/after windowing.

Runs the stages' `process_data` in this process (no Ray: the numbers are the stages' own
cost) with torch on one thread, tiny random-init models (the numbers measure decoding,
preprocessing and the pipeline's per-window work, not real model inference), on synthetic
clips of `--clip-seconds` at `--fps`. Prints clips per minute per core for:

- captions before windowing: one caption per clip from 4 frames (the old behaviour,
  `--captioning-window-size` larger than any clip and `--caption-frames 4`);
- captions after: windows of 256 frames (remainder 128), every frame sampled at 2 fps;
- embeddings: CLIP (frames at 2 fps, mean) with the `.npy` and metadata written, then the
  per-video parquet table on top; and the Cosmos-Embed1-shaped video model path.

    PYTHONPATH=. python benchmarks/video_annotation_benchmark.py --clips 8 --clip-seconds 20
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import av
import numpy as np


def encode_clip(seconds: float, fps: int, width: int, height: int, seed: int) -> bytes:
    """A moving square over a colour that changes every 3 s, as H.264 mp4 bytes."""
    rng = np.random.default_rng(seed)
    out_buf = io.BytesIO()
    with av.open(out_buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        colour, side = rng.integers(0, 256, 3), height // 4
        for i in range(round(seconds * fps)):
            if i and i % (3 * fps) == 0:
                colour = rng.integers(0, 256, 3)
            frame = np.empty((height, width, 3), np.uint8)
            frame[:] = colour
            x = abs((7 * i) % (2 * (width - side)) - (width - side))
            frame[height // 3 : height // 3 + side, x : x + side] = 255
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode(None))
    return out_buf.getvalue()


def make_tasks(args: argparse.Namespace) -> list[Any]:
    """`args.clips` clip tasks (two videos), as the transcode stage leaves them."""
    from cosmos_curate.pipelines.video.layout import clip_id_for
    from cosmos_curate.pipelines.video.tasks import ClipTask, VideoMeta

    frames = round(args.clip_seconds * args.fps)
    meta = VideoMeta(
        args.clip_seconds * args.clips, float(args.fps), args.width, args.height, "h264",
        frames * args.clips,
    )  # fmt: skip
    tasks = []
    for i in range(args.clips):
        video_id = f"bench{i % 2}"
        start = (i // 2) * frames
        tasks.append(
            ClipTask(
                source=f"{video_id}.mp4",
                video_id=video_id,
                clip_id=clip_id_for(video_id, start, start + frames),
                meta=meta,
                chunk_index=0,
                start_frame=start,
                end_frame=start + frames,
                width=args.width,
                height=args.height,
                num_frames=frames,
                encoded=encode_clip(args.clip_seconds, args.fps, args.width, args.height, i),
            )
        )
    return tasks


def fresh(tasks: Sequence[Any]) -> list[Any]:
    """Copies that no stage has touched yet."""
    return [attrs.evolve(t, windows=[], annotations={}) for t in tasks]


def run_stages(stages: Sequence[Any], tasks: list[Any]) -> tuple[list[Any], list[float]]:
    """Set up each stage, then push the tasks through in its batch size; seconds per stage."""
    seconds = []
    for stage in stages:
        stage.stage_setup()
        started = time.perf_counter()
        size = stage.stage_batch_size
        out: list[Any] = []
        for i in range(0, len(tasks), size):
            out += stage.process_data(tasks[i : i + size]) or []
        seconds.append(time.perf_counter() - started)
        tasks = out
    return tasks, seconds


def report(name: str, clips: int, seconds: Sequence[float], detail: str = "") -> float:
    """Print and return clips per minute on one core."""
    total = sum(seconds)
    rate = clips / total * 60 if total else 0.0
    parts = " + ".join(f"{s:.2f}" for s in seconds)
    print(f"{name:<44}{rate:>10.1f}   ({parts} s){detail}")
    return rate


def caption_benchmark(tasks: list[Any], windows: Any, name: str, root: Path) -> None:
    """Caption preparation + captioning with the tiny VLM."""
    from tests.pipelines.video import _synth

    from cosmos_curate.models.captioner import VLMCaptioner, VLMInputPreparer
    from cosmos_curate.pipelines.video.captioning import CaptionPrepStage, CaptionStage
    from cosmos_curate.pipelines.video.prompts import Prompt

    stages = [
        CaptionPrepStage(
            VLMInputPreparer(_synth.TINY_VLM_ID, root),
            Prompt("bench", "describe this clip in one sentence"),
            windows,
        ),
        CaptionStage(VLMCaptioner(_synth.TINY_VLM_ID, 16, root), _synth.TINY_VLM_ID),
    ]
    done, seconds = run_stages(stages, fresh(tasks))
    count = sum(len(t.windows) for t in done)
    report(name, len(done), seconds, f"  {count / len(done):.1f} windows/clip")


def embedding_benchmark(tasks: list[Any], root: Path, out: Path) -> None:
    """CLIP embedding with files written, the parquet tables, and the video model path."""
    from tests.pipelines.video import _annotation_fakes as fakes

    from cosmos_curate.models.aesthetics import AESTHETIC_MODEL_ID, ClipAesthetics
    from cosmos_curate.models.clip import CLIP_MODEL_ID, ClipImagePreprocessor
    from cosmos_curate.models.video_embedder import VideoEmbedder, VideoEmbedPreprocessor
    from cosmos_curate.pipelines.video.embedding import (
        ClipEmbeddingStage,
        VideoEmbeddingStage,
        VideoEmbedPrepStage,
    )
    from cosmos_curate.pipelines.video.embedding_table import EmbeddingTableStage
    from cosmos_curate.pipelines.video.frames import FrameExtractionStage
    from cosmos_curate.pipelines.video.layout import OutputLayout
    from cosmos_curate.pipelines.video.split.writer import ClipWriterStage

    layout = OutputLayout(str(out))
    for task in tasks:  # the split stage's manifests, so the table stage sees videos finish
        ids = [t.clip_id for t in tasks if t.video_id == task.video_id]
        layout.write_json(layout.video_record(task.video_id), {"num_chunks": 1})
        layout.write_json(layout.chunk_manifest(task.video_id, 0), {"clip_ids": ids})
    clip = [
        FrameExtractionStage(2.0, ClipImagePreprocessor(CLIP_MODEL_ID, root), keep_frames=False),
        ClipEmbeddingStage(ClipAesthetics(CLIP_MODEL_ID, AESTHETIC_MODEL_ID, root), None),
        ClipWriterStage(layout, {"embedding": CLIP_MODEL_ID}),
    ]
    done, seconds = run_stages(clip, fresh(tasks))
    report("embeddings: CLIP + .npy + metadata", len(done), seconds)
    _, table_s = run_stages([EmbeddingTableStage(layout)], done)
    report("embeddings: same + parquet table per video", len(done), [*seconds, *table_s])
    video = [
        VideoEmbedPrepStage(VideoEmbedPreprocessor(fakes.TINY_VIDEO_EMBED_ID, root), 2.0),
        VideoEmbeddingStage(VideoEmbedder(fakes.TINY_VIDEO_EMBED_ID, root), "cosmos-embed1-224p"),
    ]
    done, seconds = run_stages(video, fresh(tasks))
    report("embeddings: video model (prep + embed)", len(done), seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--clip-seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=180)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="annotation-bench-"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["CURATE_WEIGHTS_DIR"] = str(scratch / "weights")
    os.environ["CURATE_DEVICE"] = "cpu"
    import torch

    torch.set_num_threads(1)
    from tests.pipelines.video import _annotation_fakes as fakes
    from tests.pipelines.video import _synth

    from cosmos_curate.models.aesthetics import AESTHETIC_MODEL_ID
    from cosmos_curate.models.clip import CLIP_MODEL_ID
    from cosmos_curate.pipelines.video.captioning import WindowConfig

    _synth.save_tiny_clip(CLIP_MODEL_ID)
    _synth.save_tiny_aesthetic_head(AESTHETIC_MODEL_ID)
    _synth.save_tiny_vlm()
    fakes.save_tiny_video_embedder()
    tasks = make_tasks(args)
    root = scratch / "weights"
    frames = round(args.clip_seconds * args.fps)
    print(
        f"\n{args.clips} clips of {args.clip_seconds:g} s ({frames} frames) at "
        f"{args.width}x{args.height}, {args.fps} fps; torch threads 1; tiny models"
    )
    print(f"{'clips per minute per core':<44}{'':>10}   (seconds per stage)")
    before = WindowConfig(window_size=10**9, remainder_threshold=0, max_frames=4)
    caption_benchmark(tasks, before, "captions before windowing: 1 x 4 frames", root)
    caption_benchmark(tasks, WindowConfig(), "captions after: windows of 256, 2 fps", root)
    embedding_benchmark(tasks, root, scratch / "out")


if __name__ == "__main__":
    main()
