"""video-dedup at scale: 200,000 x 512-d embeddings around cluster centres, planted pairs.

Planted: `--pairs` pairs just above the `1 - eps` line (cosine 0.995: one of each must go)
and as many just below it (cosine 0.985: both must stay). The data is written as a
`video-split` output (per-video parquet embeddings + metas) and deduped by the pipeline on a
local Ray cluster; then a plain single-process numpy implementation of the same rule runs
on the same vectors with the pipeline's centroids (full per-cluster similarity matrices)
and its kept set is compared. Prints wall time, peak memory, recall/precision, agreement.

`--compare whole-job` (#28) instead times two commands on the same data, each as a child
process measured the same way (wall clock from spawn to exit; peak RSS of its process tree,
polled every 50 ms): a whole-job reference script a careful user would write (the same
input: the split output's parquet embeddings read as one Arrow dataset with its threads;
the pipeline's sample rule, faiss k-means, faiss assignment, per-cluster similarity in
numpy) and `curate pipeline run video-dedup` with its defaults (start-up, listing and
parquet reading included); the kept sets must be identical. One more reference run reads
the vectors from a prepared .npy instead (a file the split output does not have): shown
for information, not in the ratio.

    .venv/bin/python benchmarks/bench_dedup.py [--n 200000] [--dim 512] [--cpus 2]
    .venv/bin/python benchmarks/bench_dedup.py --compare whole-job [--n 200000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

EPS = 0.01
ABOVE, BELOW = 0.995, 0.985


def _near(x: np.ndarray, cosine: float, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors at exactly `cosine` from the unit rows of `x`."""
    noise = rng.normal(size=x.shape).astype(np.float32)
    noise -= np.sum(noise * x, axis=1, keepdims=True) * x
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    delta = np.sqrt(1 / cosine**2 - 1)
    out = x + delta * noise
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def make_vectors(
    n: int, dim: int, pairs: int, seed: int = 0
) -> tuple[np.ndarray, dict[str, list[tuple[int, int]]]]:
    """Rows around 200 centres; the last 4*pairs rows are the planted pairs (a, b, a, b, ...)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(200, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    base = n - 2 * pairs
    rows = centres[rng.integers(0, 200, base)] + 0.06 * rng.normal(size=(base, dim)).astype(
        np.float32
    )
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    firsts = rows[-2 * pairs :]
    above = _near(firsts[:pairs], ABOVE, rng)
    below = _near(firsts[pairs:], BELOW, rng)
    data = np.concatenate([rows, above, below]).astype(np.float32)
    first_ids = list(range(base - 2 * pairs, base))
    roles = {
        "above": [(i, base + k) for k, i in enumerate(first_ids[:pairs])],
        "below": [(i, base + pairs + k) for k, i in enumerate(first_ids[pairs:])],
    }
    return data, roles


def clip_name(i: int) -> str:
    return f"v{i // 100:05d}-0000aaaa_{i % 100:07d}_{i % 100 + 1:07d}"


def write_split_output(root: Path, data: np.ndarray) -> None:
    """metas/*.json and one parquet per 100-clip video (clip_id, model, vector)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (root / "metas").mkdir(parents=True)
    (root / "embeddings").mkdir()
    for start in range(0, len(data), 100):
        ids = [clip_name(i) for i in range(start, min(len(data), start + 100))]
        for cid in ids:
            (root / "metas" / f"{cid}.json").write_text(json.dumps({"clip_id": cid}))
        flat = pa.array(data[start : start + len(ids)].reshape(-1))
        table = pa.table({"clip_id": ids, "model": ["bench"] * len(ids),
                          "vector": pa.FixedSizeListArray.from_arrays(flat, data.shape[1])})  # fmt: skip  # noqa: E501
        pq.write_table(table, root / "embeddings" / f"{ids[0].rsplit('_', 2)[0]}.parquet")


class PeakRss:
    """Samples the RSS of this process and its descendants (Ray workers) every 0.2 s."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)
            time.sleep(0.2)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def reference(
    data: np.ndarray, centroids: np.ndarray, ids: list[str], out: dict[str, object]
) -> None:
    """Plain numpy, one process: assign, sort each cluster, full similarity matrix, max earlier."""
    started = time.monotonic()
    labels = np.empty(len(data), dtype=np.int64)
    c_sq = (centroids**2).sum(1)
    for s in range(0, len(data), 20000):
        labels[s : s + 20000] = np.argmin(
            c_sq[None, :] - 2 * data[s : s + 20000] @ centroids.T, axis=1
        )
    unit = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)
    dist = 1 - np.clip(np.einsum("ij,ij->i", data, unit[labels]), -1, 1)
    names = np.asarray(ids)
    removed: list[str] = []
    for c in range(len(centroids)):
        members = np.flatnonzero(labels == c)
        order = members[np.lexsort((names[members], -dist[members]))]
        e = data[order]
        sims = e @ e.T
        sims[np.tril_indices(len(order))] = -np.inf
        best = sims.max(axis=0) if len(order) else np.zeros(0)
        if len(order):
            best[0] = 0.0
        removed += names[order][best > 1 - EPS].tolist()
    out["removed"] = sorted(removed)
    out["wall_s"] = time.monotonic() - started
    out["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reference_proc(path: str, centroids: np.ndarray, q: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    data = np.load(path)
    result: dict[str, object] = {}
    reference(data, centroids, [clip_name(i) for i in range(len(data))], result)
    q.put(result)


def _read_vectors(data_path: str) -> tuple[np.ndarray, np.ndarray]:
    """`(clip ids, vectors)`: a split output's `embeddings/*.parquet` (one Arrow dataset read,
    files in name order), or a prepared `.npy` (ids by position)."""
    if data_path.endswith(".npy"):
        raw = np.load(data_path)
        return np.asarray([clip_name(i) for i in range(len(raw))]), raw
    import pyarrow.parquet as pq

    table = pq.read_table(os.path.join(data_path, "embeddings"), columns=["clip_id", "vector"])
    vectors = table.column("vector").combine_chunks()
    flat = vectors.flatten().to_numpy(zero_copy_only=False)
    return np.asarray(table.column("clip_id").to_pylist()), flat.reshape(len(vectors), -1)


def reference_job(data_path: str, out_path: str, sample: int, seed: int, per_video: int) -> None:
    """The whole job as one script: sample, faiss k-means, assign, per-cluster rule; kept ids."""
    import faiss

    names, raw = _read_vectors(data_path)
    data = (raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    del raw
    n, dim = data.shape
    videos = -(-n // per_video)
    chosen, count = [], 0
    for v in np.random.default_rng(seed).permutation(videos):  # whole videos, as the pipeline
        if count >= sample:
            break
        chosen.append(int(v))
        count += min(per_video, n - v * per_video)
    rows = np.concatenate([np.arange(v * per_video, min(n, v * per_video + per_video))
                           for v in sorted(chosen)])  # fmt: skip
    if len(rows) > sample:
        rows = rows[np.sort(np.random.default_rng(seed).choice(len(rows), sample, replace=False))]
    k = min(-(-n // 1000), len(rows))
    km = faiss.Kmeans(dim, k, niter=100, seed=seed, verbose=False, min_points_per_centroid=1,
                      max_points_per_centroid=max(256, -(-len(rows) // k)))  # fmt: skip
    km.train(np.ascontiguousarray(data[rows]))
    centroids = np.asarray(km.centroids, dtype=np.float32)
    index = faiss.IndexFlatL2(dim)
    index.add(centroids)
    labels = index.search(data, 1)[1][:, 0]
    unit = centroids / np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    dist = 1 - np.clip(np.einsum("ij,ij->i", data, unit[labels]), -1, 1)
    removed: list[str] = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        order = members[np.lexsort((names[members], -dist[members].astype(np.float64)))]
        e = data[order]
        sims = e @ e.T
        sims[np.tril_indices(len(order))] = -np.inf
        if len(order):
            best = sims.max(axis=0)
            best[0] = 0.0
            removed += names[order][best.astype(np.float64) > 1 - EPS].tolist()
    Path(out_path).write_text(json.dumps(sorted(removed)))


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, float]:
    """Wall s from spawn to exit, peak RSS of the process tree (polled every 50 ms), CPU s.

    CPU seconds (user + sys of the command and its children) say more than wall time on a
    loaded machine, where a command waits for a core.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        total = 0
        with contextlib.suppress(psutil.Error):
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
        peak = max(peak, total)
        time.sleep(0.05)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if proc.returncode not in (0, 3):  # 3: the run finished with failure records
        msg = f"{cmd[:4]} exited {proc.returncode}"
        raise RuntimeError(msg)
    return wall, peak, cpu


def whole_job(args: argparse.Namespace, work: Path, data: np.ndarray) -> None:
    """The reference script and the `curate` command on the same data, one after the other."""
    import pyarrow.parquet as pq

    load = Path("/proc/loadavg").read_text().split()[:3]
    here = os.path.abspath(__file__)
    ref_cmd = [sys.executable, here, "--reference-job", str(work / "split"),
               str(work / "ref.json"), "--sample", str(args.sample)]  # fmt: skip
    npy_cmd = [sys.executable, here, "--reference-job", str(work / "data.npy"),
               str(work / "ref_npy.json"), "--sample", str(args.sample)]  # fmt: skip
    curate = str(Path(sys.executable).with_name("curate"))
    cur_cmd = [curate, "pipeline", "run", "video-dedup", "--input-path", str(work / "split"),
               "--output-path", str(work / "dedup"), "--no-progress",
               "--kmeans-sample-size", str(args.sample)]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    runs: list[tuple[str, float, float, int]] = []
    for round_ in range(args.rounds):  # ABBA: the reference first in even rounds
        for side in ("ref", "ours") if round_ % 2 == 0 else ("ours", "ref"):
            if side == "ours":
                shutil.rmtree(work / "dedup", ignore_errors=True)
            wall, rss, cpu = measure(ref_cmd if side == "ref" else cur_cmd, env)
            runs.append((side, wall, cpu, rss))
    wall, rss, cpu = measure(npy_cmd, env)
    runs.append(("npy", wall, cpu, rss))
    ref = set(json.loads((work / "ref.json").read_text()))
    if set(json.loads((work / "ref_npy.json").read_text())) != ref:
        msg = "the reference keeps different clips from the parquet files and from the .npy"
        raise RuntimeError(msg)
    ours = {
        i for p in (work / "dedup" / "extraction" / "pruned_eps_0.01").glob("*.parquet")
        for i in pq.read_table(p).column("id").to_pylist()
    }  # fmt: skip
    same = "identical" if ref == ours else f"differs in {len(ref ^ ours)}"
    summary = json.loads((work / "dedup" / "summary.json").read_text())
    after = Path("/proc/loadavg").read_text().split()[:3]
    print(f"\n{len(data):,} x {data.shape[1]}, {summary['n_clusters']} clusters, eps {EPS}, "
          f"{args.rounds} round(s) ABBA, load before {' '.join(load)}, "
          f"after {' '.join(after)}\n")  # fmt: skip
    print("| command | wall s | CPU s | peak RSS (process tree) | removed | kept set |")
    print("|---|---|---|---|---|---|")
    names = {
        "ref": "reference script (faiss + numpy), reads the split output's parquet files",
        "ours": "curate pipeline run video-dedup",
        "npy": "reference script, vectors from a prepared .npy (not in the ratio)",
    }
    for side, wall, cpu, rss in runs:
        removed, kept = (len(ours), same) if side == "ours" else (len(ref), "-")
        cells = [names[side], f"{wall:.1f}", f"{cpu:.1f}", f"{rss / 2**20:,.0f} MB",
                 f"{removed:,}", kept]  # fmt: skip
        print("| " + " | ".join(cells) + " |")

    def median(side: str, col: int) -> float:
        return float(np.median([r[col] for r in runs if r[0] == side]))

    phases = {k: summary[k] for k in ("wall_time_s", "largest_cluster")}
    print(f"\nratio of medians: wall {median('ours', 1) / median('ref', 1):.2f}x, "
          f"CPU {median('ours', 2) / max(median('ref', 2), 1e-9):.2f}x, "
          f"peak RSS {median('ours', 3) / max(1, median('ref', 3)):.2f}x; "
          f"in-run (last): {json.dumps(phases)}")  # fmt: skip


def ray_vs_numpy(
    args: argparse.Namespace, work: Path, data: np.ndarray, roles: dict[str, list[tuple[int, int]]]
) -> None:
    """The pipeline on a local Ray cluster vs the numpy reference given its centroids."""
    import ray

    from cosmos_curate.pipelines.video.dedup.pipeline import VideoDedupOptions, dedup_videos

    ray.init(address="local", num_cpus=args.cpus, include_dashboard=False)
    options = VideoDedupOptions(
        input_path=str(work / "split"),
        output_path=str(work / "dedup"),
        chunk_size=args.chunk_size,
    )
    with PeakRss() as peak:
        t0 = time.monotonic()
        dedup_videos(options, RunOptions(metrics_port=None))
        ours_s = time.monotonic() - t0
    ray.shutdown()
    import pyarrow.parquet as pq

    ours = sorted(
        i for p in (work / "dedup" / "extraction" / "pruned_eps_0.01").glob("*.parquet")
        for i in pq.read_table(p).column("id").to_pylist()
    )  # fmt: skip
    centroids = np.load(work / "dedup" / "clustering_results" / "kmeans_centroids.npy")
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_reference_proc, args=(str(work / "data.npy"), centroids, q))
    proc.start()
    ref = q.get()
    proc.join()
    gone = set(ours)
    above_hit = sum(1 for a, b in roles["above"] if len({clip_name(a), clip_name(b)} & gone) == 1)
    below_hit = sum(1 for a, b in roles["below"] if {clip_name(a), clip_name(b)} & gone)
    planted_above = {clip_name(x) for p in roles["above"] for x in p}
    summary = json.loads((work / "dedup" / "summary.json").read_text())
    print(
        f"\n{args.n:,} x {args.dim} embeddings, {summary['n_clusters']} clusters, eps {EPS}, {args.cpus} CPUs\n"  # noqa: E501
    )
    print(
        "| implementation | wall s | peak RSS | removed | recall (above pairs) | below pairs touched | precision | kept set |"  # noqa: E501
    )
    print("|---|---|---|---|---|---|---|---|")
    prec = sum(1 for i in ours if i in planted_above) / max(1, len(ours))
    print(
        f"| video-dedup on Ray | {ours_s:.1f} | {peak.peak / 2**20:,.0f} MB (driver + workers) | {len(ours):,} | "  # noqa: E501
        f"{above_hit / len(roles['above']):.4f} | {below_hit} | {prec:.4f} | - |"
    )
    ref_removed = set(ref["removed"])
    same = "identical" if ref_removed == gone else f"differs in {len(ref_removed ^ gone)}"
    print(
        f"| numpy reference (1 process, same centroids) | {ref['wall_s']:.1f} | {ref['peak_rss'] / 2**20:,.0f} MB | "  # noqa: E501
        f"{len(ref_removed):,} | - | - | - | {same} |"
    )
    print(
        f"\nour timings: {json.dumps({k: summary[k] for k in ('wall_time_s', 'largest_cluster', 'kmeans_sample_rows')})}"  # noqa: E501
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=10_000)
    parser.add_argument("--compare", choices=["ray", "whole-job"], default="ray")
    parser.add_argument("--sample", type=int, default=100_000, help="k-means sample size")
    parser.add_argument(
        "--rounds", type=int, default=1, help="whole-job: rounds, ABBA order (reference first)"
    )
    parser.add_argument("--reference-job", nargs=2, metavar=("DATA_NPY", "OUT_JSON"))
    args = parser.parse_args()
    if args.reference_job:
        data_npy, out_json = args.reference_job
        reference_job(data_npy, out_json, sample=args.sample, seed=42, per_video=100)
        return
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    work = Path(tempfile.mkdtemp(prefix="bench_dedup_"))
    try:
        data, roles = make_vectors(args.n, args.dim, args.pairs)
        t0 = time.monotonic()
        write_split_output(work / "split", data)
        print(f"wrote the split output in {time.monotonic() - t0:.1f} s", file=sys.stderr)
        np.save(work / "data.npy", data)
        if args.compare == "whole-job":
            whole_job(args, work, data)
            return
        ray_vs_numpy(args, work, data, roles)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
