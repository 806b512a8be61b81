"""A relative path in a stage names the same file on a worker as on the driver."""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import pytest

from cosmos_curate.core.interfaces.pipeline_interface import run_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)

pytestmark = pytest.mark.integration


@attrs.define
class Note(PipelineTask):
    name: str
    worker_cwd: str = ""


class WriteRelative(CuratorStage[Note, Note]):
    """Writes `out/<name>.txt` relative to wherever the worker works."""

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Note]) -> list[Note] | None:
        for task in tasks:
            target = Path("out") / f"{task.name}.txt"
            target.parent.mkdir(exist_ok=True)
            target.write_text(task.name)
            task.worker_cwd = os.getcwd()
        return tasks


def test_relative_output_lands_in_the_drivers_folder(
    ray_cluster: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's Ray was started from another folder; a run from `tmp_path` writing
    `out/a.txt` leaves it in `tmp_path/out`, not in the folder the workers started in."""
    monkeypatch.chdir(tmp_path)
    out = run_pipeline([Note("a"), Note("b")], [WriteRelative()])
    assert {Path(n.worker_cwd) for n in out} == {tmp_path}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.txt", "b.txt"]
