"""`profile=cpu,memory,gpu`: a real run on the session's Ray profiles each stage's workers.

One run (module fixture) of a CPU stage that burns time in a named function and holds
memory at a named line, then a stage that declares a GPU and multiplies torch matrices
(the session cluster declares a GPU; torch here is the CPU build, so torch's profiler
records its CPU activity). The tests read what a pipeline author would: the files under
the run folder, the top rows, and the report's Profiles section.
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import attrs
import pytest

from cosmos_curate.core import runs
from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.results import PipelineResult
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)
from cosmos_curate.core.runs.profiles import COLUMNS, ProfileSummary, merge, stage_profiles
from cosmos_curate.core.runtime.errors import ProfileRequestError
from cosmos_curate.core.runtime.profilers import CpuProfiler
from cosmos_curate.core.runtime.profiling import PROFILE_KINDS, profile_kinds
from cosmos_curate.core.runtime.run_options import RunOptions

N_INPUTS = 4
HELD_BYTES = 3_000_000


@attrs.define
class Job(PipelineTask):
    """A number the stages work on."""

    n: int
    total: float = 0.0


def spin_numbers(n: int) -> float:
    """Pure-Python work the CPU profile must find by name."""
    total = 0.0
    for i in range(400_000 + n):
        total += i * 0.5
    return total


class Burn(CuratorStage[Job, Job]):
    """Burns CPU in `spin_numbers` and keeps a buffer per task (the memory profile's site)."""

    def __init__(self) -> None:
        self.kept: list[bytearray] = []

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Job]) -> list[Job] | None:
        for task in tasks:
            task.total = spin_numbers(task.n)
            self.kept.append(bytearray(HELD_BYTES))  # HOLD-LINE
        return tasks


class Matmul(CuratorStage[Job, Job]):
    """Declares a GPU and multiplies torch matrices (on CPU here)."""

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5, gpus=1)

    def process_data(self, tasks: list[Job]) -> list[Job] | None:
        import torch

        for task in tasks:
            a = torch.ones(128, 128)
            task.total += float((a @ a).sum())
        return tasks


@pytest.fixture(scope="module")
def profiled_run(
    ray_cluster: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, PipelineResult]:
    """The run folder of one run with every profile kind on."""
    run = runs.create_run("profile-test", root=tmp_path_factory.mktemp("profile-runs"))
    result = execute_pipeline(
        [Job(i) for i in range(N_INPUTS)],
        [Burn(), Matmul()],
        run_dir=run.folder,
        profile="cpu,memory,gpu",
        metrics_port=None,
    )
    return run.folder, result


def _names(summary: ProfileSummary) -> list[str]:
    return [name for name, _, _ in summary.rows]


def test_each_stage_gets_its_files(profiled_run: tuple[Path, PipelineResult]) -> None:
    """Files per stage under profiles/: flame tree, snapshot, summaries; torch only on GPU."""
    folder, result = profiled_run
    assert result.num_outputs == N_INPUTS
    burn = folder / "profiles" / "Burn"
    assert list(burn.glob("cpu-*.html")) and list(burn.glob("cpu-*.json"))
    assert list(burn.glob("memory-*.json"))
    assert not list(burn.glob("gpu-*")), "a CPU stage got torch's profiler"
    matmul = folder / "profiles" / "Matmul"
    traces = list(matmul.glob("gpu-*.trace.json"))
    assert traces and "traceEvents" in json.loads(traces[0].read_text(encoding="utf-8"))
    dumps = list(burn.glob("memory-*.tracemalloc"))  # one per worker the planner started
    assert dumps and all(tracemalloc.Snapshot.load(str(d)).traces for d in dumps)


def test_top_rows_name_the_stage_code(profiled_run: tuple[Path, PipelineResult]) -> None:
    """CPU: spin_numbers among the top functions; memory: the line that holds the buffers
    first; gpu: torch's matmul op, with the note that only CPU activity was recorded."""
    folder, _ = profiled_run
    profiles = {
        stage: {s.kind: s for s in items} for stage, items in stage_profiles(folder).items()
    }
    assert set(profiles) == {"Burn", "Matmul"}
    assert set(profiles["Burn"]) == {"cpu", "memory"}
    assert any(name.startswith("spin_numbers ") for name in _names(profiles["Burn"]["cpu"]))
    hold_line = next(
        i
        for i, line in enumerate(Path(__file__).read_text().splitlines(), 1)
        if "# HOLD-LINE" in line
    )
    memory = profiles["Burn"]["memory"]
    assert _names(memory)[0].endswith(f"test_profiling.py:{hold_line}")
    assert memory.rows[0][1] >= N_INPUTS * HELD_BYTES * 0.9
    gpu = profiles["Matmul"]["gpu"]
    assert any(name in ("aten::mm", "aten::matmul") for name in _names(gpu))
    assert "CPU activity only" in gpu.note


def test_report_has_a_profiles_section(profiled_run: tuple[Path, PipelineResult]) -> None:
    """report.html lists each stage's top functions by time and allocation sites by size."""
    _, result = profiled_run
    assert result.report_path is not None
    page = result.report_path.read_text(encoding="utf-8")
    section = page.split("<h2>Profiles</h2>", 1)[1]
    assert "top functions by time" in section and "top allocation sites by size" in section
    assert "spin_numbers" in section and "aten::mm" in section


def test_profile_kinds_are_checked() -> None:
    """Kinds come as a list or 'a,b', in canonical order; an unknown one names itself."""
    assert profile_kinds("memory, cpu") == ("cpu", "memory")
    assert RunOptions(profile=["gpu"]).profile == ("gpu",)
    assert RunOptions().profile == ()
    assert tuple(COLUMNS) == PROFILE_KINDS
    with pytest.raises(ProfileRequestError, match="--profile disk"):
        RunOptions(profile="cpu,disk")


def test_workers_merge_by_name() -> None:
    """Rows of several workers add up per name; memory's total is the highest peak."""
    a = ProfileSummary("S", "memory", "w1", (("x:1", 10.0, 1.0),), 100.0)
    b = ProfileSummary("S", "memory", "w2", (("x:1", 5.0, 2.0), ("y:2", 1.0, 1.0)), 300.0)
    merged = merge([a, b])
    assert merged.rows == (("x:1", 15.0, 3.0), ("y:2", 1.0, 1.0))
    assert merged.total == 300.0
    assert merged.worker == "2 worker(s)"


def test_a_worker_too_quick_to_sample_still_writes_its_summary(tmp_path: Path) -> None:
    """Calls shorter than pyinstrument's interval leave no samples: the summary has no rows
    (it raised before, so a fast stage of a profiled run had an html file but no summary)."""
    profiler = CpuProfiler()
    profiler.start()
    profiler.stop()
    summary = profiler.write(tmp_path, "Quick", "host-1")
    assert summary is not None and summary.rows == ()
    assert (tmp_path / "cpu-host-1.html").is_file()
