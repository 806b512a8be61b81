"""GPU packing: a CPU stage feeding a 0.25-GPU stage that is the bottleneck.

One declared GPU (four 0.25-GPU workers share it). The GPU stage records when each call
starts and ends; after warm-up (all four workers up, plus one second) the busy fraction is
the workers' busy time over four times the window. Ray Data with the same stages
(`map_batches`, num_gpus=0.25, four actors) is measured in the same run. The stages live in
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


def run_ray_data(n: int) -> Row:
    import ray.data

    def go() -> list[dict[str, Any]]:
        ds = ray.data.from_items(rows(n), override_num_blocks=max(1, n // 10)).map_batches(
            RayDataPrepare, batch_size=1, num_cpus=0.5, concurrency=(1, 2)
        )
        ds = ds.map_batches(RayDataInfer, batch_size=1, num_cpus=0.1, num_gpus=0.25, concurrency=4)
        return list(ds.iter_rows())

    seconds, out_rows = timed(go)
    frac = busy_fraction([(int(r["pid"]), float(r["start"]), float(r["end"])) for r in out_rows])
    return Row(
        "gpu packing",
        "Ray Data (4 actors x 0.25 GPU)",
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
    results = [row, run_ray_data(args.tasks)]
    ray.shutdown()
    print_table(results)


if __name__ == "__main__":
    main()
