"""`curate view` over a synthetic 100,000-clip output: index build, first page, server memory.

Writes `--clips` metadata records (kept ones under `metas/`, a tenth under
`filtered_clips/`) that all point at one small mp4 and one webp preview, starts
`curate view OUT --port 0` as a user would, and prints
1. the index build time (the command's own figure), the time until the URL is printed
   and the server's CPU time until then (wall times depend on the machine's load),
2. the first page (`/`, then `/api/items`) and a caption search and a score sort, each
   timed from the client, and
3. the server's resident memory after those requests (psutil), per clip too,
next to issue #31's targets (index < 30 s, first page < 3 s after indexing).
`--profile` instead builds the index in this process under cProfile and prints its wall
and CPU time and the functions that took the most time (the index step alone).

    python benchmarks/bench_view.py [--clips 100000] [--keep DIR] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

WORDS = (
    "kite", "sea", "beach", "city", "street", "night", "rain", "dog", "runs", "car",
    "bridge", "forest", "snow", "train", "crowd", "market", "river", "boat", "lamp", "window",
)  # fmt: skip


def record(n: int, kept: bool) -> dict[str, object]:
    """A clip record shaped as the writer's (a few captioned windows, four scores)."""
    video = f"video-{n // 20:05d}"
    clip_id = f"{video}_{(n % 20) * 60:07d}_{(n % 20) * 60 + 60:07d}"
    words = [WORDS[(n * 7 + i * 3) % len(WORDS)] for i in range(12)]
    windows = [{"start_frame": 0, "end_frame": 60, "caption": " ".join(words),
                "preview_path": "previews/shared.webp"}]  # fmt: skip
    data: dict[str, object] = {
        "clip_id": clip_id, "video_id": video, "source_video": f"/videos/{video}.mp4",
        "span": {"start_s": (n % 20) * 2.0, "end_s": (n % 20) * 2.0 + 2.0,
                 "start_frame": (n % 20) * 60, "end_frame": (n % 20) * 60 + 60},
        "clip_path": "clips/shared.mp4" if kept else None, "duration_s": 2.0,
        "width": 1280, "height": 720, "video_codec": "h264", "audio_codec": "aac",
        "scores": {"aesthetic": 3.0 + (n % 97) / 40, "motion": (n % 31) / 10,
                   "motion_global_mean": (n % 13) / 1000, "motion_per_patch_min_256": 1e-6},
        "caption": " ".join(words), "windows": windows, "models": {"caption": "Qwen2.5-VL"},
        "caption_model": "Qwen/Qwen2.5-VL-7B-Instruct", "caption_prompt": "Describe the video.",
    }  # fmt: skip
    if not kept:
        data.update(filtered_by="aesthetic" if n % 2 else "motion", filter_reason="below threshold")
    return data


def make_output(out: Path, clips: int) -> None:
    """The output tree: records only, media shared."""
    for folder in ("clips", "metas", "filtered_clips", "previews"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=30",
         "-t", "2", "-pix_fmt", "yuv420p", str(out / "clips" / "shared.mp4")], check=True,
    )  # fmt: skip
    (out / "previews" / "shared.webp").write_bytes(b"RIFF\x1a\x00\x00\x00WEBPVP8L")
    for n in range(clips):
        kept = n % 10 != 0
        data = record(n, kept)
        folder = "metas" if kept else "filtered_clips"
        (out / folder / f"{data['clip_id']}.json").write_text(json.dumps(data, indent=2))


def timed_get(url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as response:
        body = response.read()
    return time.perf_counter() - started, body


def measure(out: Path, runs: Path) -> None:
    env = {**os.environ, "CURATE_RUNS_DIR": str(runs)}
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "cosmos_curate.cli.main", "view", str(out), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert server.stdout is not None and server.stderr is not None
    url = server.stdout.readline().strip()
    to_url = time.perf_counter() - started
    times = psutil.Process(server.pid).cpu_times()
    cpu_to_url = times.user + times.system  # the wall time depends on the machine's load
    note = server.stderr.readline()
    indexed = re.search(r"(\d+) items .* indexed in ([\d.]+) s", note)
    try:
        page_s, _ = timed_get(url)
        items_s, body = timed_get(url + "api/items")
        total = json.loads(body)["total"]
        search_s, body = timed_get(url + "api/items?q=kite+bridge")
        found = json.loads(body)["total"]
        sort_s, _ = timed_get(url + "api/items?sort=aesthetic&order=desc&page=50")
        dropped_s, _ = timed_get(url + "api/items?view=dropped&reason=motion")
        rss = psutil.Process(server.pid).memory_info().rss
    finally:
        server.send_signal(signal.SIGINT)
        code = server.wait(timeout=120)
    items = int(indexed.group(1)) if indexed else 0
    print(f"items indexed            {items}")
    print(f"index build (server)     {float(indexed.group(2)) if indexed else float('nan'):.2f} s"
          "   (target < 30 s)")  # fmt: skip
    print(f"command start to URL     {to_url:.2f} s   (imports + index; {cpu_to_url:.2f} s CPU)")
    print(f"first page: / + items    {page_s + items_s:.3f} s   (target < 3 s; {total} kept)")
    print(f"caption search           {search_s:.3f} s   ({found} matches)")
    print(f"sort by score, page 50   {sort_s:.3f} s")
    print(f"dropped, one reason      {dropped_s:.3f} s")
    print(f"server RSS               {rss / 2**20:.1f} MiB ({rss / max(items, 1):.0f} B per item)")
    print(f"exit code after Ctrl-C   {code}")


def profile_index(out: Path) -> None:
    """The index step alone, in this process: wall and CPU time, then cProfile's top entries."""
    import cProfile
    import pstats

    from cosmos_curate.view import build_index

    for _ in range(2):  # the second build reads files the first left in the page cache
        wall, cpu = time.perf_counter(), time.process_time()
        rows = len(build_index(out).rows)
        print(f"index build in-process   {time.perf_counter() - wall:.2f} s wall, "
              f"{time.process_time() - cpu:.2f} s CPU ({rows} items, "
              f"load {os.getloadavg()[0]:.1f})")  # fmt: skip
    profiler = cProfile.Profile()
    profiler.runcall(build_index, out)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="Build (or reuse) the output here.")
    parser.add_argument("--profile", action="store_true", help="Profile the index step alone.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        out = args.keep or Path(scratch) / "out"
        if not (out / "metas").is_dir():
            started = time.perf_counter()
            make_output(out, args.clips)
            print(f"wrote {args.clips} records in {time.perf_counter() - started:.1f} s")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        if args.profile:
            profile_index(out)
        else:
            measure(out, Path(scratch) / "runs")


if __name__ == "__main__":
    main()
