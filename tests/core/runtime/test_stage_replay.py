"""Stage save and replay: a real run on the session's Ray saves a stage; replay runs it here.

One pipeline run (module fixture) saves every call of `Total`; the tests replay it in this
process through `curate stage replay` and check what a pipeline author sees: the outputs
equal the saved ones (exit 0), a code change in the stage is a difference (exit 3 with
`--compare`), a stage that raises is exit 1, and the folder's manifest says first that
its files are pickles.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from tests.support import curate_in_process, one_error_line

from cosmos_curate.core import runs
from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.results import PipelineResult
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)
from cosmos_curate.core.runtime.saved_stage import MANIFEST, TRUST_LINE, read_manifest

pytestmark = pytest.mark.integration

N_INPUTS = 6


@attrs.define
class Reading(PipelineTask):
    """A named row of numbers and what the stages add."""

    name: str
    values: np.ndarray
    total: float | None = None


class Double(CuratorStage[Reading, Reading]):
    """Doubles the values (the stage before the saved one)."""

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Reading]) -> list[Reading] | None:
        for task in tasks:
            task.values = task.values * 2
        return tasks


class Total(CuratorStage[Reading, Reading]):
    """Sums the values; refuses to work before its setup ran (replay must run it)."""

    def __init__(self) -> None:
        self.ready = False

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    @property
    def stage_batch_size(self) -> int:
        return 2

    def stage_setup(self) -> None:
        self.ready = True

    def process_data(self, tasks: list[Reading]) -> list[Reading] | None:
        if not self.ready:
            msg = "stage_setup did not run"
            raise RuntimeError(msg)
        for task in tasks:
            task.total = float(task.values.sum())
        return tasks


@pytest.fixture(scope="module")
def saved_run(
    ray_cluster: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> tuple[runs.Run, PipelineResult]:
    """A run folder (under its own runs root) whose run saved every call of `Total`."""
    run = runs.create_run("replay-test", root=tmp_path_factory.mktemp("replay-runs"))
    inputs = [Reading(f"r{i}", np.arange(4, dtype=np.float64) + i) for i in range(N_INPUTS)]
    result = execute_pipeline(
        inputs, [Double(), Total()], run_dir=run.folder, stage_save="Total", metrics_port=None
    )
    return run, result


@pytest.fixture
def runs_root(saved_run: tuple[runs.Run, PipelineResult], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The saved run's runs folder as this test's CURATE_RUNS_DIR (so `last` finds it)."""
    root = saved_run[0].folder.parent
    monkeypatch.setenv("CURATE_RUNS_DIR", str(root))
    return root


def test_the_run_saves_calls_and_a_manifest_that_warns_first(
    saved_run: tuple[runs.Run, PipelineResult],
) -> None:
    """Every input reached the saved files; the manifest's first line is the trust warning."""
    run, result = saved_run
    assert result.num_outputs == N_INPUTS
    folder = run.folder / "stage_save" / "Total"
    text = (folder / MANIFEST).read_text(encoding="utf-8")
    assert text.splitlines()[0] == TRUST_LINE
    assert "pickle" in TRUST_LINE
    manifest = read_manifest(folder)
    assert manifest["stage"] == "Total"
    assert manifest["spec"]["batch_size"] == 2
    assert manifest["class"].endswith(":Total")
    assert manifest["code"]["source_sha256"]
    assert manifest["saved_at"]
    assert not (run.folder / "stage_save" / "Double").exists()  # only the named stage
    calls = sorted(folder.glob("*.call.pkl"))
    saved = [pickle.loads(p.read_bytes()) for p in calls]
    assert sum(call.tasks_in for call in saved) == N_INPUTS


def test_replay_without_change_is_equal_and_exits_0(runs_root: Path) -> None:
    """`--compare` after no change: every call the same as saved, exit 0 (setup ran: no raise)."""
    result = curate_in_process("stage", "replay", "last", "--stage", "Total", "--compare")
    assert result.returncode == 0, result.stderr
    assert "same as saved" in result.stdout
    assert "differ" not in result.stdout
    assert "outputs equal the saved ones" in result.stdout


def test_replay_one_call_by_index_from_the_run_folder(
    saved_run: tuple[runs.Run, PipelineResult],
) -> None:
    """A run folder path and `--index 0`: exactly that call is replayed."""
    folder = str(saved_run[0].folder)
    result = curate_in_process("stage", "replay", folder, "--stage", "Total", "--index", "0")
    assert result.returncode == 0, result.stderr
    assert "1 call(s) replayed" in result.stdout
    assert result.stdout.count("call 0:") == 1


def test_changed_stage_code_is_a_difference_exit_3(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stage's code now adds 0.5: the diff names `.total` and `--compare` exits 3."""

    def changed(self: Total, tasks: list[Reading]) -> list[Reading]:
        for task in tasks:
            task.total = float(task.values.sum()) + 0.5
        return tasks

    monkeypatch.setattr(Total, "process_data", changed)
    result = curate_in_process("stage", "replay", "last", "--stage", "Total", "--compare")
    assert result.returncode == 3, result.stderr
    assert ".total: saved" in result.stdout
    assert "outputs differ" in result.stdout
    # Within tolerance it is equal again; without --compare a difference still exits 0.
    within = ("stage", "replay", "last", "--stage", "Total", "--compare", "--atol", "0.5")
    assert curate_in_process(*within).returncode == 0
    assert curate_in_process("stage", "replay", "last", "--stage", "Total").returncode == 0


def test_stage_that_raises_exits_1_naming_it(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """process_data raising is the stage's failure: one error line, exit 1, not 3."""

    def broken(self: Total, tasks: list[Reading]) -> list[Reading]:
        msg = "bad row"
        raise ValueError(msg)

    monkeypatch.setattr(Total, "process_data", broken)
    result = curate_in_process("stage", "replay", "last", "--stage", "Total", "--compare")
    line = one_error_line(result, code=1)
    assert "Total" in line
    assert "ValueError: bad row" in line


def test_setup_is_part_of_the_replay(runs_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A setup that raises stops the replay before any call: exit 1 naming setup."""

    def no_setup(self: Total) -> None:
        msg = "no weights"
        raise OSError(msg)

    monkeypatch.setattr(Total, "stage_setup", no_setup)
    line = one_error_line(curate_in_process("stage", "replay", "last", "--stage", "Total"), code=1)
    assert "setup raised OSError: no weights" in line


def test_replay_refuses_a_folder_without_manifest(
    saved_run: tuple[runs.Run, PipelineResult], tmp_path: Path
) -> None:
    """A copy of the saved calls without the manifest is refused: nothing is unpickled."""
    source = saved_run[0].folder / "stage_save" / "Total"
    copy = tmp_path / "run" / "stage_save" / "Total"
    copy.mkdir(parents=True)
    for path in source.iterdir():
        if path.name != MANIFEST:
            (copy / path.name).write_bytes(path.read_bytes())
    line = one_error_line(
        curate_in_process("stage", "replay", str(tmp_path / "run"), "--stage", "Total"), code=2
    )
    assert MANIFEST in line
    # A manifest whose first line is not the warning is refused too.
    (copy / MANIFEST).write_text(json.dumps({"format": 1, "stage": "Total"}), encoding="utf-8")
    line = one_error_line(
        curate_in_process("stage", "replay", str(tmp_path / "run"), "--stage", "Total"), code=2
    )
    assert "not a stage-save manifest" in line


def test_upstream_stage_save_config_saves_too(ray_cluster: dict[str, Any], tmp_path: Path) -> None:
    """`run_pipeline(..., stage_save_config=StageSaveConfig(path, stages, sample_rate))`, as
    upstream code calls it, saves the named stage's calls in the run folder."""
    from types import SimpleNamespace

    from cosmos_curate.core.interfaces.pipeline_interface import run_pipeline

    config = SimpleNamespace(path=str(tmp_path / "ignored"), stages=["Total"], sample_rate=1.0)
    inputs = [Reading("u", np.ones(3))]
    out = run_pipeline(inputs, [Total()], stage_save_config=config, run_dir=tmp_path / "run")
    assert [t.total for t in out] == [3.0]
    assert read_manifest(tmp_path / "run" / "stage_save" / "Total")["stage"] == "Total"
    assert not (tmp_path / "ignored").exists()
