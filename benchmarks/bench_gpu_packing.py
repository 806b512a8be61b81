"""GPU packing: a CPU stage feeding a 0.25-GPU stage that is the bottleneck.

One declared GPU (four 0.25-GPU workers share it). The GPU stage records when each call
starts and ends; after warm-up (all four workers up, plus one second) the busy fraction is
the workers' busy time over four times the window. Ray Data with the same stages
(`map_batches`, num_gpus=0.25, four actors) is measured in the same run, in several batchings:
its CPU stage at its default (`batch_size=None`: a block per call); its GPU stage has no
default (`map_batches` raises unless a GPU stage gets an integer `batch_size`), so it runs
with a block's rows per call (what the default gives a CPU stage) and with larger and smaller
sizes; the best is the one to beat. Both sides return every row to the driver (the stamps
are read there). The stages live in
`_gpu_stages.py`, importable as a pipeline's stages would be (classes defined in a script's
`__main__` are pickled by value with every chunk, which costs a few ms per call).

    python benchmarks/bench_gpu_packing.py [--tasks 3000]
"""

from __future__ import annotations

import argparse
from typing import Any

import ray
from _common import Row, print_table, rows, start_cluster, timed
from _gpu_stages import GPU_COST, Infer, Prepare, RayDataInfer, RayDataPrepare, Stamped

from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline

BLOCK_ROWS = 10
# A block's rows per call (what `batch_size=None` gives a CPU stage), fewer, more.
RAY_DATA_GPU_BATCHES = (BLOCK_ROWS, 1, 4 * BLOCK_ROWS)


def busy_fraction(spans: list[tuple[int, float, float]]) -> float:
    """Busy share of the GPU workers after warm-up (all workers started + 1 s)."""
    firsts: dict[int, float] = {}
    for pid, start, _ in spans:
        firsts[pid] = min(firsts.get(pid, start), start)
    warm = max(firsts.values()) + 1.0
    end = max(e for _, _, e in spans)
    busy = sum(max(0.0, e - max(s, warm)) for _, s, e in spans if e > warm)
    return busy / (len(firsts) * (end - warm))


def run_ours(n: int) -> tuple[Row, float]:
    seconds, out = timed(
        lambda: (
            execute_pipeline(
                (Stamped(i) for i in range(n)), [Prepare(), Infer()], metrics_port=None
            ).outputs
        )
    )
    frac = busy_fraction([(t.pid, t.start, t.end) for t in out])
    workers = len({t.pid for t in out})
    return Row(
        "gpu packing",
        "cosmos-curate",
        n,
        seconds,
        4 / GPU_COST,
        f"GPU stage busy {frac:.1%} after warm-up, {workers} GPU workers",
    ), frac


def run_ray_data(n: int, infer_batch: int) -> Row:
    import ray.data

    def go() -> list[dict[str, Any]]:
        blocks = max(1, n // BLOCK_ROWS)
        ds = ray.data.from_items(rows(n), override_num_blocks=blocks).map_batches(
            RayDataPrepare, num_cpus=0.5, concurrency=(1, 2)
        )
        ds = ds.map_batches(
            RayDataInfer, batch_size=infer_batch, num_cpus=0.1, num_gpus=0.25, concurrency=4
        )
        return list(ds.iter_rows())

    seconds, out_rows = timed(go)
    frac = busy_fraction([(int(r["pid"]), float(r["start"]), float(r["end"])) for r in out_rows])
    return Row(
        "gpu packing",
        f"Ray Data (4 actors x 0.25 GPU, GPU batch_size={infer_batch})",
        n,
        seconds,
        4 / GPU_COST,
        f"GPU stage busy {frac:.1%} after warm-up",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=3000)
    args = parser.parse_args()
    start_cluster(2, gpus=1)
    row, _ = run_ours(args.tasks)
    results = [row, *(run_ray_data(args.tasks, size) for size in RAY_DATA_GPU_BATCHES)]
    ray.shutdown()
    print_table(results)
    best = max(results[1:], key=lambda r: r.tasks_per_s)
    print(
        f"\ncosmos-curate / best Ray Data ({best.system}) = "
        f"{row.tasks_per_s / best.tasks_per_s:.2f}x tasks/s"
    )


if __name__ == "__main__":
    main()
