"""Ctrl-C stops the workers and the embedded Ray: nothing of ours is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def test_ctrl_c_leaves_no_process_behind() -> None:
    """SIGINT mid-run: the driver exits 130 and every process it started is gone."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        "RAY_AUTH_MODE": "disabled",
    }
    env.pop("RAY_ADDRESS", None)
    driver = subprocess.Popen(
        [sys.executable, "-m", "tests.core.runtime.slow_driver"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert driver.stdout is not None
    deadline = time.time() + 180
    line = ""
    while time.time() < deadline and "running" not in line:
        line = driver.stdout.readline()
        if not line and driver.poll() is not None:
            pytest.fail("driver exited before the pipeline ran")
    descendants = psutil.Process(driver.pid).children(recursive=True)
    assert len(descendants) >= 3  # Ray's own processes and the stage workers
    driver.send_signal(signal.SIGINT)
    assert driver.wait(timeout=120) == 130
    _, alive = psutil.wait_procs(descendants, timeout=60)
    leftovers = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not leftovers, [(p.pid, p.name()) for p in leftovers]
