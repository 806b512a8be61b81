"""A cluster state file that names a Ray temp folder `curate cluster start` never makes is
refused: `stop` kills the processes whose command line names that folder and deletes it, so
obeying a hand-edited, foreign or corrupted file (`/`, `/tmp`, a home folder) would kill and
delete what the tool never started or wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cluster.cluster_helpers import recorded_state
from tests.support import curate_in_process, one_error_line

from cosmos_curate.cluster.state import ClusterState


def _state_file(path: Path, temp_dir: str) -> Path:
    recorded_state(temp_dir).save(path)
    return path


@pytest.mark.parametrize(
    "temp_dir",
    ["/", "/tmp", "/tmp/", "/root", "/tmp/curate-ray-", "/tmp/sub/curate-ray-1",
     "/tmp/curate-ray-1/../..", "tmp/curate-ray-1", "/home/someone/curate-ray-1"],
)  # fmt: skip
def test_a_foreign_temp_folder_is_one_error_line(tmp_path: Path, temp_dir: str) -> None:
    state = _state_file(tmp_path / "state.json", temp_dir)
    line = one_error_line(curate_in_process("cluster", "stop", "--state-file", str(state)), 2)
    assert repr(temp_dir) in line and "nothing was stopped or deleted" in line
    assert state.exists()  # the file is the user's to check: not removed either


def test_nothing_is_killed_or_deleted_by_a_refused_file(tmp_path: Path) -> None:
    """A folder of the right name in the wrong place, with a file in it and a process whose
    command line names it: after the refused `stop` both are still there."""
    decoy = tmp_path / "curate-ray-decoy"
    decoy.mkdir()
    (decoy / "keep.txt").write_text("mine")
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", f"{decoy}/session"]
    )
    try:
        state = _state_file(tmp_path / "state.json", str(decoy))
        result = curate_in_process("cluster", "stop", "--state-file", str(state))
        assert result.returncode == 2, result.stderr
        assert sleeper.poll() is None
        assert (decoy / "keep.txt").read_text() == "mine"
        status = curate_in_process("cluster", "status", "--state-file", str(state))
        assert status.returncode != 0 and str(decoy) in status.stderr
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_folder_start_makes_is_accepted(tmp_path: Path) -> None:
    state = _state_file(tmp_path / "state.json", "/tmp/curate-ray-abc123")
    assert ClusterState.load(state).temp_dir == "/tmp/curate-ray-abc123"
    assert json.loads(state.read_text())["temp_dir"] == "/tmp/curate-ray-abc123"
