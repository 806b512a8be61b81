"""`curate report` and `curate metrics tail` pick the current user's last run and name it."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from tests.report.fake_progress import progress

from cosmos_curate.cli.main import run as curate
from cosmos_curate.core.ray_cluster.ports import endpoints_dir, free_port, record_endpoint
from cosmos_curate.core.runs import create_run
from cosmos_curate.report import RunRecorder, StageInfo

OTHER_UID = 65534  # nobody

needs_root = pytest.mark.skipif(
    not hasattr(os, "getuid") or os.getuid() != 0, reason="needs root to act as another user"
)


def _record(folder: Path) -> Path:
    recorder = RunRecorder(folder, [StageInfo("decode", 1, 0)], cluster_cpus=2, cluster_gpus=0)
    for k in range(5):
        recorder(progress(k * 0.5, finished=k == 4))
    recorder.close()
    return folder


def test_report_names_the_run_it_picked(
    isolated_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no RUN, stderr says which run "the last run" is (its id and start)."""
    run = create_run("hello-world")
    _record(run.folder)
    assert curate(["report"]) == 0
    captured = capsys.readouterr()
    assert f"the last run: {run.id} (started " in captured.err
    assert captured.out.strip() == str((run.folder / "report.html").resolve())


@needs_root
def test_report_skips_another_users_newer_run(
    isolated_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A newer run folder owned by another user (a shared runs folder) is not "the last run"."""
    mine = create_run("hello-world")
    _record(mine.folder)
    time.sleep(0.01)
    theirs = create_run("hello-world")
    _record(theirs.folder)
    os.chown(theirs.folder, OTHER_UID, -1)
    assert curate(["report"]) == 0
    captured = capsys.readouterr()
    assert f"the last run: {mine.id}" in captured.err
    assert captured.out.strip() == str((mine.folder / "report.html").resolve())
    assert not (theirs.folder / "report.html").exists()


@needs_root
def test_metrics_tail_reads_my_newest_pipeline(
    isolated_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another user's newer pipeline on this machine is skipped; the one read is named."""
    port = free_port("127.0.0.1")
    assert record_endpoint(port, "127.0.0.1") is not None  # this process: "my pipeline"
    other = subprocess.Popen(["sleep", "60"], user=OTHER_UID)
    try:
        created = psutil.Process(other.pid).create_time()
        record = {"pid": other.pid, "port": free_port("127.0.0.1"), "host": "127.0.0.1",
                  "started_at": time.time() + 5, "create_time": created}  # fmt: skip
        (endpoints_dir() / f"{other.pid}.json").write_text(json.dumps(record))
        assert curate(["metrics", "tail", "--once"]) == 1  # nothing serves the port
        err = capsys.readouterr().err
        assert f"reading http://localhost:{port}/metrics: your newest running pipeline" in err
        assert f"pid {os.getpid()}" in err and str(record["port"]) not in err
    finally:
        other.kill()
        other.wait()
