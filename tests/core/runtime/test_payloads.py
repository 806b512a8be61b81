"""Video-sized payloads: the byte budget keeps Ray's object store in bounds, without deadlock.

The pipeline runs in a subprocess on an embedded Ray of its own with a 200 MB object store
(the session cluster's store is far larger); use is measured from Ray, not assumed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
MB = 2**20


@pytest.fixture(scope="module")
def payload_runs() -> dict[str, Any]:
    """Both scenarios of `payload_driver`, in one subprocess (one Ray start)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.core.runtime.payload_driver"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    runs: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    runs["stderr"] = proc.stderr
    return runs


def test_slow_stage_behind_fast_one_keeps_the_store_within_budget(
    payload_runs: dict[str, Any],
) -> None:
    """24 tasks of 20 MB (480 MB in all) through a 200 MB store: peak within the 100 MB budget
    plus one task, nothing spilled, every array intact and read in place (read-only views)."""
    run = payload_runs["budgeted"]
    assert run["outputs"] == 24 and run["ids"] == list(range(24))
    assert run["all_ok"], run
    assert run["all_readonly"], "arrays should arrive as views of the object store"
    assert run["budget_bytes"] == 100 * MB
    numbers = {k: run[k] for k in ("peak_bytes", "reported_peak", "spilled_bytes", "wait_s")}
    assert run["peak_bytes"] <= run["budget_bytes"] + 21 * MB, numbers
    assert run["spilled_bytes"] == 0, numbers
    assert run["reported_peak"] > 0  # the run's own record of the store, read from Ray
    assert run["wait_s"][0] > 0  # the fast stage was held back


def test_a_task_larger_than_its_share_still_completes(payload_runs: dict[str, Any]) -> None:
    """60 MB tasks against a 20 MB share: they run one at a time, with one warning naming the
    stage and the size."""
    run = payload_runs["oversized"]
    assert run["outputs"] == 3 and run["all_ok"], run
    warnings = [
        line for line in payload_runs["stderr"].splitlines() if "larger than its share" in line
    ]
    assert len(warnings) == 1, payload_runs["stderr"][-3000:]
    assert "Make" in warnings[0] and "60.0 MiB" in warnings[0]
