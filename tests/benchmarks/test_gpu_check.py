"""benchmarks/gpu_check.py on a machine without a GPU: says so at once and succeeds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.support import fresh_python

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_skips_without_gpu() -> None:
    """Exit 0 and one line, `skipped: no GPU`, well before any model could load."""
    probe = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    if fresh_python(probe).returncode == 0:
        pytest.skip("this machine has a GPU: the check would run for real")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "skipped: no GPU"
    assert time.monotonic() - start < 60
