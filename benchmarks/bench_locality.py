"""Locality (issue #15): bytes moved between nodes, with the engine's locality on vs off.

A 2-node loopback cluster (`curate cluster start --workers 1`, 2 CPUs and 600 MiB of object
store per node); 3 stages with one worker per node each, 0.1 s per task, 50 MB arrays per
task. The runs use `tests/cluster/locality_driver.py` in subprocesses (a driver of its
own per run), `--rounds` pairs on the same cluster in ABBA order (off, on, on, off, ...:
the cold first run is not always the same setting's).
Cross-node bytes are the engine's own accounting (chunk bytes whose consumer ran on another
node than their producer); the trail of nodes each task visited is shown beside it.

    python benchmarks/bench_locality.py [--tasks 30] [--mb 50] [--rounds 2]
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
from typing import Any

from _common import ROOT_DIR, machine

from cosmos_curate.presentation.format import format_bytes

DRIVER = Path(ROOT_DIR) / "tests" / "cluster" / "locality_driver.py"


def curate(*args: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "cosmos_curate.cli.main", *args],
        env=env, check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def run(address: str, env: dict[str, str], tmp: Path, args: Any, *, locality: bool) -> Any:
    out = tmp / "result.json"
    cmd = [
        sys.executable, str(DRIVER), str(out), "--address", address, "--tasks",
        str(args.tasks), "--mb", str(args.mb), "--stages", "3", "--sleep", "0.1",
        "--sleep-after", "0.1",
    ]  # fmt: skip
    if not locality:
        cmd.append("--no-locality")
    subprocess.run(cmd, cwd=DRIVER.parent, env=env, check=True, timeout=900)
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_ADDRESS", "RAY_AUTH"))}
    env["RAY_AUTH_MODE"] = "disabled"
    env["PYTHONPATH"] = ROOT_DIR
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        state_file = tmp / "cluster.json"
        curate(
            "cluster", "start", "--workers", "1", "--num-cpus", "2", "--memory-gb", "2",
            "--object-store-mb", "600", "--port", "0", "--metrics-port", "0",
            "--client-port", "0", "--auth", "disabled", "--state-file", str(state_file),
            env=env,
        )  # fmt: skip
        try:
            address = json.loads(state_file.read_text())["address"]
            # ABBA: even rounds run off then on, odd rounds on then off, so neither setting
            # always gets the cluster's first (cold) run.
            results = [
                (on, run(address, env, tmp, args, locality=on))
                for i in range(args.rounds)
                for on in ((False, True) if i % 2 == 0 else (True, False))
            ]
        finally:
            curate("cluster", "stop", "--state-file", str(state_file), env=env)
    lines = [
        f"machine: {machine()}; date: {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        "| locality | tasks | wall s | cross-node bytes | local bytes | hops cross-node "
        "| peak store | spilled |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for on, r in results:
        cross_hops = sum(1 for a, b in r["pairs"] if a != b)
        lines.append(
            f"| {'on' if on else 'off'} | {r['outputs']} | {r['wall_s']:.1f} | "
            f"{format_bytes(r['cross_node_bytes'])} | {format_bytes(r['local_bytes'])} | "
            f"{cross_hops}/{len(r['pairs'])} | {format_bytes(r['peak_store_bytes'])} | "
            f"{format_bytes(r['spilled_bytes'])} |"
        )
    def total(key: str, on: bool) -> float:
        return sum(r[key] for o, r in results if o == on)

    off, on_ = total("cross_node_bytes", False), total("cross_node_bytes", True)
    lines.append("")
    if off:
        lines.append(
            f"cross-node bytes, locality on / off: {on_ / off:.2f}; wall on / off: "
            f"{total('wall_s', True) / total('wall_s', False):.2f}"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
