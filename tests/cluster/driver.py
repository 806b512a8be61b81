"""Driver run in a subprocess by the multi-node tests (the pytest process has its own Ray).

    python driver.py RESULT.json --address ADDR --tasks N --record-dir DIR [--per-node K]
        [--sleep S] [--progress FILE]

Writes {"outputs": [[item_id, trail], ...], "num_failures": n, "nodes": [...]} to RESULT.json.
Errors are printed the way `curate` prints them: one line, exit code 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cluster_stages import Item, RecordStage

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import CuratorStageSpec


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("result")
    parser.add_argument("--address", required=True)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--record-dir", required=True)
    parser.add_argument("--per-node", type=int, default=None)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--progress", default=None)
    args = parser.parse_args()

    specs = [
        CuratorStageSpec(
            RecordStage(label, args.record_dir, args.sleep), num_workers_per_node=args.per_node
        )
        for label in ("first", "second")
    ]
    callbacks = []
    if args.progress:
        progress_path = Path(args.progress)

        def write_progress(progress: object) -> None:
            done = getattr(progress, "outputs", 0)
            progress_path.write_text(str(done))

        callbacks.append(write_progress)
    try:
        result = execute_pipeline(
            (Item(i) for i in range(args.tasks)),
            specs,
            ray_address=args.address,
            metrics_port=None,
            progress_callbacks=callbacks,
            check_weights=False,
        )
    except CurateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    payload = {
        "outputs": [[t.item_id, t.trail] for t in result.outputs],
        "num_failures": result.num_failures,
        "num_outputs": result.num_outputs,
    }
    Path(args.result).write_text(json.dumps(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
