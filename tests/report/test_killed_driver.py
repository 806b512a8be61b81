"""A driver killed half way (SIGKILL) still leaves a report of what it recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import ray
from tests.report.browser import load

from cosmos_curate.cli.main import run as curate
from cosmos_curate.report import read_series

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _start_driver(runs: Path) -> subprocess.Popen[str]:
    """The driver joins the session's Ray (the caller holds `ray_cluster`): no Ray start-up
    per test; its workers are the cluster's, which stops them once the driver is gone."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        "RAY_AUTH_MODE": "disabled",
        "CURATE_RUNS_DIR": str(runs),
        "RAY_ADDRESS": ray.get_runtime_context().gcs_address,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.report.killed_driver"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip


def _wait_until_running(driver: subprocess.Popen[str]) -> None:
    assert driver.stdout is not None
    deadline = time.time() + 240
    while time.time() < deadline:
        line = driver.stdout.readline()
        if "running" in line:
            return
        if not line and driver.poll() is not None:
            pytest.fail("the driver exited before its pipeline ran")
    pytest.fail("the driver's pipeline did not run within 240 s")


def _signal_running_driver(runs: Path, sig: signal.Signals, wait_s: float) -> Path:
    """Start the driver, send `sig` once its pipeline runs, reap what outlived it.

    Returns the run folder it recorded into. The driver's own Ray processes that survive it
    are stopped by PID (ours): after SIGKILL at once (nothing stops them: waiting for them
    would only wait out the timeout), after SIGINT once the driver's own shutdown had up to
    20 s.
    """
    driver = _start_driver(runs)
    try:
        _wait_until_running(driver)
        descendants = psutil.Process(driver.pid).children(recursive=True)
        driver.send_signal(sig)
        driver.wait(timeout=wait_s)
    finally:
        if driver.poll() is None:
            driver.kill()
    _, alive = psutil.wait_procs(descendants, timeout=0 if sig == signal.SIGKILL else 20)
    for proc in alive:
        proc.kill()
    (folder,) = [p.parent for p in runs.glob("*/series.jsonl")]
    return folder


def test_sigkilled_driver_still_leaves_a_report(
    ray_cluster: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`curate report` renders the points recorded before the kill; outcome: killed."""
    folder = _signal_running_driver(tmp_path / "runs", signal.SIGKILL, wait_s=30)
    assert not (folder / "report.html").exists()  # the driver never got to write it
    series = read_series(folder)
    assert series.end is None
    assert len(series.points) >= 4
    assert series.points[-1].value(1, "done") > 0

    assert curate(["report"]) == 0  # no RUN: the last recorded run
    page_path = Path(capsys.readouterr().out.strip())
    assert page_path == (folder / "report.html").resolve()
    page = load(page_path, tmp_path / "profile")
    assert page.console == []
    assert "killed (no end recorded)" in page.dom
    assert all(page.drawn_lines(c) >= 1 for c in page.charts() if "gpu" not in c)


def test_ctrl_c_leaves_the_report_with_outcome_interrupted(
    ray_cluster: dict[str, object], tmp_path: Path
) -> None:
    """SIGINT half way: the driver itself writes report.html on its way out."""
    folder = _signal_running_driver(tmp_path / "runs", signal.SIGINT, wait_s=120)
    series = read_series(folder)
    assert series.end is not None and series.end["outcome"] == "interrupted"
    page = (folder / "report.html").read_text()
    assert "interrupted (Ctrl-C)" in page and 'id="chart-workers-0"' in page
