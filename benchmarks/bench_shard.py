"""video-shard throughput: MB/s of tars written vs plain `tar` of the same files, same disk.

Makes a `video-split` output of `--clips` clips of `--clip-mb` MB (random bytes: shard
copies bytes, it never decodes), then times `video-shard` (one bucket, `--tar-mb` tars) on a
local Ray cluster and `tar -cf` of the same clips and metas into the same folder.

    .venv/bin/python benchmarks/bench_shard.py [--clips 400] [--clip-mb 1] [--cpus 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_split(root: Path, clips: int, clip_mb: float) -> int:
    """Clips, metas and .npy embeddings; returns the bytes of clips + metas."""
    rng = np.random.default_rng(0)
    for sub in ("clips", "metas", "embeddings"):
        (root / sub).mkdir(parents=True)
    total = 0
    for i in range(clips):
        cid = f"v{i:05d}-0000aaaa_0000000_0000100"
        data = rng.integers(0, 256, int(clip_mb * 2**20), dtype=np.uint8).tobytes()
        (root / "clips" / f"{cid}.mp4").write_bytes(data)
        meta = {"clip_id": cid, "width": 1280, "height": 720, "duration_s": 6.0, "caption": "x"}
        (root / "metas" / f"{cid}.json").write_text(json.dumps(meta))
        np.save(root / "embeddings" / f"{cid}.npy", rng.normal(size=512).astype(np.float32))
        total += len(data)
    return total


def write_window(shards: Path) -> tuple[float, float]:
    """`(first member's mtime, last tar's mtime)`: when the write stage wrote its first byte
    and finished its last tar (each member carries the time it was written)."""
    tars = list(shards.rglob("*.tar"))
    starts = []
    for path in tars:
        with tarfile.open(path) as tar:
            first = tar.next()
            if first is not None:
                starts.append(first.mtime)
    return min(starts), max(p.stat().st_mtime for p in tars)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=400)
    parser.add_argument("--clip-mb", type=float, default=1.0)
    parser.add_argument("--tar-mb", type=float, default=50.0)
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    work = Path(tempfile.mkdtemp(prefix="bench_shard_", dir=os.environ.get("BENCH_DIR")))
    try:
        size = make_split(work / "split", args.clips, args.clip_mb)
        mb = size / 2**20
        subprocess.run(["sync"], check=False)
        t0 = time.monotonic()
        subprocess.run(["tar", "-cf", str(work / "plain.tar"), "-C", str(work / "split"),
                        "clips", "metas", "embeddings"], check=True)  # fmt: skip
        subprocess.run(["sync"], check=False)
        tar_s = time.monotonic() - t0
        import ray

        from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
        from cosmos_curate.pipelines.video.shard.options import VideoShardOptions
        from cosmos_curate.pipelines.video.shard.pipeline import shard_videos

        ray.init(address="local", num_cpus=args.cpus, include_dashboard=False)
        options = VideoShardOptions(
            input_path=str(work / "split"), output_path=str(work / "shards"),
            target_tar_size_mb=args.tar_mb,
        )  # fmt: skip
        t0 = time.monotonic()
        result = shard_videos(options, RunOptions(metrics_port=None))
        subprocess.run(["sync"], check=False)
        ours_s = time.monotonic() - t0
        ray.shutdown()
        index = json.loads((work / "shards" / "index.json").read_text())
        first, last = write_window(work / "shards")
        tars = sum(b["tars"] for b in index["buckets"])
        print(
            f"\n{args.clips} clips x {args.clip_mb} MB = {mb:,.0f} MB, {tars} tars of ~{args.tar_mb} MB, {args.cpus} CPUs\n"  # noqa: E501
        )
        print("| writer | wall s | MB/s | vs plain tar |")
        print("|---|---|---|---|")
        print(f"| plain `tar -cf` (one file) | {tar_s:.1f} | {mb / tar_s:,.0f} | 1.00x |")
        print(f"| video-shard, whole run (Ray start-up of 2 pipelines, plan, index) | {ours_s:.1f} | "  # noqa: E501
              f"{mb / ours_s:,.0f} | {tar_s / ours_s:.2f}x |")  # fmt: skip
        write = next(st for st in result.progress.stages if st.name == "WriteTarStage")
        busy = write.process_seconds_total
        print(f"| video-shard, WriteTarStage busy time (summed over workers) | {busy:.1f} | "
              f"{mb / busy:,.0f} | {tar_s / busy:.2f}x |")  # fmt: skip
        span = last - first
        print(f"| video-shard, write phase wall (first member written to last tar closed; "
              f"{write.workers_peak} writers at once) | {span:.1f} | {mb / span:,.0f} | "
              f"{tar_s / span:.2f}x |")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
