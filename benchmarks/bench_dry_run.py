"""`curate pipeline run video-split --dry-run` over many input files: wall time vs the 5 s target.

Makes `--files` small `.mp4` files in a temporary folder, then times
1. the whole command as a user runs it (a fresh `curate` process: imports included), and
2. the library part alone (`describe` + `plan_run`, in this process, modules already imported),
and prints both next to the 5 s target of issue #30. Nothing is started: no Ray.

    python benchmarks/bench_dry_run.py [--files 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cosmos_curate.core.runtime.run_options import RunOptions
from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.dry_run import plan_run

TARGET_S = 5.0


def _command(inputs: Path, out: Path, scratch: Path) -> float:
    env = {**os.environ, "CURATE_RUNS_DIR": str(scratch / "runs")}
    env.pop("RAY_ADDRESS", None)
    args = [sys.executable, "-m", "cosmos_curate.cli.main", "pipeline", "run", "video-split",
            "--input-path", str(inputs), "--output-path", str(out), "--dry-run", "--json",
            "--num-cpus", "16", "--num-gpus", "1", "--download-missing"]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if result.returncode not in (0, 2):
        raise SystemExit(result.stderr)
    return wall if json.loads(result.stdout)["inputs"]["count"] else float("nan")


def _library(inputs: Path, out: Path) -> float:
    entry = registry.get_pipeline("video-split")
    options = registry.parse_options(entry, {"input_path": str(inputs), "output_path": str(out)})
    assert entry.describe is not None
    plan_run(entry.name, entry.describe(options), RunOptions(num_cpus=16, num_gpus=1))  # warm
    started = time.perf_counter()
    plan = plan_run(entry.name, entry.describe(options), RunOptions(num_cpus=16, num_gpus=1))
    wall = time.perf_counter() - started
    assert plan.inputs is not None
    return wall


def main() -> None:
    """Make the files, time both ways, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    files = parser.parse_args().files
    with tempfile.TemporaryDirectory() as scratch:
        inputs, out = Path(scratch) / "in", Path(scratch) / "out"
        for i in range(files):
            sub = inputs / f"d{i // 1000}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"v{i:06d}.mp4").write_bytes(b"x" * 64)
        command = _command(inputs, out, Path(scratch))
        library = _library(inputs, out)
    print(f"dry run over {files} input files (target {TARGET_S:g} s)")
    for label, wall in (("curate command, fresh process", command), ("library only", library)):
        print(f"  {label:30} {wall:6.2f} s  ({wall / TARGET_S:.2f} of target)")


if __name__ == "__main__":
    main()
