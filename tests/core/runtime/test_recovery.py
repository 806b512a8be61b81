"""Recovery: poison tasks are quarantined; a killed driver's run resumes where it stopped."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import attrs
import pytest

from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)
from cosmos_curate.core.runtime.run_options import EngineOptions

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


@attrs.define
class Cell(PipelineTask):
    id: int


class Poison(CuratorStage[Cell, Cell]):
    """Task 13 kills the worker process every time; the others pass."""

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Cell]) -> list[Cell] | None:
        for task in tasks:
            if task.id == 13:
                os.kill(os.getpid(), signal.SIGKILL)
        return tasks


def test_poison_task_is_quarantined_after_max_worker_deaths(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """The task that kills its worker becomes a failure record after
    `max_worker_deaths_per_task` deaths (2 here: each death is a worker start); every other
    task arrives."""
    failures = tmp_path / "failures.jsonl"
    result = execute_pipeline(
        [Cell(i) for i in range(20)],
        [Poison()],
        failures_path=failures,
        engine_options=EngineOptions(max_worker_deaths_per_task=2),
        ignore_failures=True,  # the run-wide option: record and go on
    )
    assert sorted(c.id for c in result.outputs) == [i for i in range(20) if i != 13]
    (record,) = [json.loads(line) for line in failures.read_text().splitlines()]
    assert "Cell(id=13)" in record["task_repr"]
    assert record["attempts"] == 2
    assert "killed its worker process 2 times" in record["error"]


def _driver(tmp_path: Path, n: int, mode: str) -> subprocess.Popen[str]:
    """A driver process of its own that joins the session's cluster (as a user's driver joins
    a running one), so killing it leaves the cluster up and starts no second Ray."""
    import ray

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        "RAY_AUTH_MODE": "disabled",
        "RAY_ADDRESS": ray.get_runtime_context().gcs_address,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.core.runtime.resume_driver",
            str(tmp_path / "out"),
            str(tmp_path / "ckpt"),
            str(n),
            mode,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _journaled_ids(tmp_path: Path) -> set[int]:
    path = tmp_path / "ckpt" / "journal.jsonl"
    if not path.exists():
        return set()
    done: set[int] = set()
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError, KeyError):
            for start, end in json.loads(line)["done"]:
                done.update(range(start, end))
    return done


def _journaled(tmp_path: Path) -> int:
    return len(_journaled_ids(tmp_path))


def _written_by(tmp_path: Path, run: str) -> list[int]:
    lines = (tmp_path / "writes.log").read_text().splitlines()
    return [int(line.split()[1]) for line in lines if line.split()[0] == run]


def test_driver_killed_mid_run_resumes_without_redoing_finished_inputs(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """kill -9 of the driver, then --resume: every task written, journaled ones not redone.

    The first driver holds the second half of its input (`resume_driver.Slow`), so it is
    killed mid-run with tasks in flight, never after finishing, whatever the load.
    """
    n = 300
    first = _driver(tmp_path, n, "fresh")
    deadline = time.time() + 180
    while _journaled(tmp_path) < n // 5 and time.time() < deadline and first.poll() is None:
        time.sleep(0.2)
    assert first.poll() is None, f"driver ended early: {first.communicate()[1][-2000:]}"
    first.send_signal(signal.SIGKILL)
    first.wait()
    journaled_before = _journaled_ids(tmp_path)
    assert n // 5 <= len(journaled_before) < n // 2

    second = _driver(tmp_path, n, "resume")
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err[-3000:]
    written = {int(p.stem) for p in (tmp_path / "out").glob("*.done")}
    assert written == set(range(n))  # none missing
    # The resumed run skipped every journaled input and wrote each of the rest once. (The
    # killed driver's workers may still finish what they held: those lines say "fresh".)
    resumed = _written_by(tmp_path, "resume")
    assert not journaled_before & set(resumed)
    assert len(resumed) == len(set(resumed))
    assert _journaled(tmp_path) == n
