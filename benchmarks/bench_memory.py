"""Driver memory: peak RSS for 10^4, 10^5 and 10^6 lazily generated input tasks.

Each size runs in a fresh process (peak RSS is per process); three no-op stages, outputs
not collected. Flat means the driver never materialises the input.

    python benchmarks/bench_memory.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def child(n: int) -> None:
    from _common import SleepStage, start_cluster, tasks

    from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline

    start_cluster(2)
    start = time.perf_counter()
    stages = [SleepStage(f"noop{i}", 0.0, 0.5) for i in range(3)]
    result = execute_pipeline(tasks(n), stages, collect_outputs=False, metrics_port=None)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"n": n, "outputs": result.num_outputs, "s": seconds, "peak_mb": peak_mb}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--child", type=int)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        out = (
            subprocess.run(
                [sys.executable, __file__, "--child", str(n)],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        rows.append(json.loads(out))
    base = rows[0]["peak_mb"]
    print("| input tasks | outputs | seconds | tasks/s | driver peak RSS (MB) | vs smallest |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['n']:,} | {r['outputs']:,} | {r['s']:.1f} | {r['n'] / r['s']:,.0f} | "
            f"{r['peak_mb']:.0f} | {r['peak_mb'] / base - 1:+.0%} |"
        )


if __name__ == "__main__":
    main()
