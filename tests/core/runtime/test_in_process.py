"""The in-process runner: the runtime's stage contract without Ray, and when a run takes it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import attrs
import pytest
from tests.support import fresh_python

from cosmos_curate.core.interfaces.errors import CurateError, PipelineExecutionError
from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageSpec,
    PipelineTask,
    StageEnvInfo,
    WorkerMetadata,
)
from cosmos_curate.core.runtime import in_process
from cosmos_curate.core.runtime.errors import StageSetupError
from cosmos_curate.core.runtime.run_options import RunOptions


@attrs.define
class Item(PipelineTask):
    value: int
    trail: list[str] = attrs.field(factory=list)


class Double(CuratorStage[Item, Item]):
    """Doubles each value; notes its setups, calls' sizes and destroy."""

    def __init__(self, batch: int = 1) -> None:
        self.batch = batch
        self.setups: list[str] = []
        self.sizes: list[int] = []
        self.destroyed = False

    @property
    def stage_batch_size(self) -> int:
        return self.batch

    def setup(self, worker_metadata: WorkerMetadata) -> None:
        self.setups.append(worker_metadata.stage_name)

    def process_data(self, tasks: list[Item]) -> list[Item]:
        self.sizes.append(len(tasks))
        for task in tasks:
            task.value *= 2
        return tasks

    def destroy(self) -> None:
        self.destroyed = True


class Explode(CuratorStage[Item, Item]):
    """Fans each task out to two, except that `bad` values raise (after changing the task)."""

    def __init__(self, bad: int, fail_first_attempts: int = 99) -> None:
        self.bad = bad
        self.failures_left = fail_first_attempts

    def process_data(self, tasks: list[Item]) -> list[Item]:
        out = []
        for task in tasks:
            task.trail.append("seen")  # a retry must not see this
            if task.value == self.bad and self.failures_left > 0:
                self.failures_left -= 1
                raise ValueError(f"bad value {task.value}")
            out += [Item(task.value, list(task.trail)), Item(-task.value, list(task.trail))]
        return out


class BrokenSetup(Double):
    """Its set-up fails the first `failures` times."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def setup(self, worker_metadata: WorkerMetadata) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise OSError("model file unreadable")
        super().setup(worker_metadata)


class WithEnv(Double):
    @property
    def env_info(self) -> StageEnvInfo:
        return StageEnvInfo(extra_env_vars={"SOME_VAR": "1"})


def _options(tmp_path: Path, **kw: Any) -> RunOptions:
    """In process on one CPU: every stage here, so the tests see the stage objects' state
    (`test_front_process.py` covers two CPUs, where the leading CPU stages leave)."""
    kw.setdefault("num_cpus", 1)
    return RunOptions(
        run_dir=tmp_path / "run", metrics_port=None, check_weights=False, in_process=True, **kw
    )


def test_every_task_goes_through_every_stage_in_batches_of_the_stage_size(
    tmp_path: Path,
) -> None:
    first, second = Double(batch=3), Double(batch=8)
    items = [Item(i) for i in range(70)]
    result = execute_pipeline(items, [first, second], _options(tmp_path))
    assert sorted(t.value for t in result.outputs) == [4 * i for i in range(70)]
    assert result.num_outputs == 70 and result.num_failures == 0
    assert first.setups == ["Double"] and second.setups == ["Double_2"]  # once each
    assert max(first.sizes) == 3 and max(second.sizes) == 8
    assert sum(first.sizes) == sum(second.sizes) == 70
    assert first.destroyed and second.destroyed
    assert [s.tasks_done for s in result.progress.stages] == [70, 70]
    assert result.report_path is not None and result.report_path.is_file()


def test_a_failing_batch_is_a_record_per_task_and_the_run_goes_on_when_ignored(
    tmp_path: Path,
) -> None:
    spec = CuratorStageSpec(Explode(bad=5), ignore_failures=True)
    result = execute_pipeline([Item(i) for i in range(10)], [spec], _options(tmp_path))
    assert result.num_failures == 1 and result.failures_path is not None
    records = [json.loads(line) for line in result.failures_path.read_text().splitlines()]
    assert [r["stage"] for r in records] == ["Explode"]
    assert "ValueError: bad value 5" in records[0]["error"]
    assert "value=5" in records[0]["task_repr"]
    assert sorted(t.value for t in result.outputs) == sorted(
        v for i in range(10) if i != 5 for v in (i, -i)
    )


def test_a_failure_not_ignored_stops_the_run_naming_the_records(tmp_path: Path) -> None:
    with pytest.raises(PipelineExecutionError) as caught:
        execute_pipeline([Item(i) for i in range(10)], [Explode(bad=5)], _options(tmp_path))
    message = str(caught.value)
    assert "stage Explode failed on task" in message
    assert str(tmp_path / "run" / "failures.jsonl") in message
    assert (tmp_path / "run" / "failures.jsonl").is_file()


def test_a_retry_gets_the_task_as_it_was_before_the_failed_attempt(tmp_path: Path) -> None:
    spec = CuratorStageSpec(Explode(bad=3, fail_first_attempts=1), num_run_attempts_python=2)
    result = execute_pipeline([Item(3)], [spec], _options(tmp_path))
    assert result.num_failures == 0
    assert [t.trail for t in result.outputs] == [["seen"], ["seen"]]  # not ["seen", "seen"]


def test_a_setup_that_keeps_failing_stops_the_run_and_only_set_up_stages_are_destroyed(
    tmp_path: Path,
) -> None:
    first, broken, after = Double(), BrokenSetup(failures=2), Double()
    specs = [first, CuratorStageSpec(broken, num_setup_attempts_python=2), after]
    with pytest.raises(StageSetupError, match="stage BrokenSetup: stage_setup failed 2 time"):
        execute_pipeline([Item(1)], specs, _options(tmp_path))
    assert first.destroyed and not broken.destroyed and not after.destroyed
    retried = BrokenSetup(failures=1)  # fails once, set up on its second attempt
    spec = CuratorStageSpec(retried, num_setup_attempts_python=2)
    result = execute_pipeline([Item(1)], [spec], _options(tmp_path))
    assert [t.value for t in result.outputs] == [2] and retried.destroyed


def test_what_needs_ray_is_refused_in_process_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(CurateError, match="stage WithEnv sets environment variables"):
        execute_pipeline([Item(1)], [WithEnv()], _options(tmp_path))
    with pytest.raises(CurateError, match="--checkpoint-dir / --resume needs the Ray runtime"):
        execute_pipeline([Item(1)], [Double()], _options(tmp_path, checkpoint_dir=tmp_path))


def test_the_rule_keeps_a_small_cpu_run_here_and_sends_the_rest_to_ray(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(in_process, "cluster_given", bool)  # an address given: a cluster
    monkeypatch.setattr(in_process, "host_has_gpus", lambda: False)
    specs = [CuratorStageSpec(Double())]

    def choose(forced: bool | None = None, **kw: Any) -> bool:
        return in_process.choose(forced, specs, RunOptions(run_dir=tmp_path, **kw))

    assert choose(num_cpus=1) and choose(num_cpus=2)
    assert not choose(num_cpus=3)
    assert choose(True, num_cpus=64) and not choose(False, num_cpus=2)
    assert not choose(num_cpus=2, ray_address="127.0.0.1:6379")
    assert not choose(num_cpus=2, num_gpus=1)
    assert not choose(num_cpus=2, profile="cpu")
    assert not in_process.choose(None, [CuratorStageSpec(WithEnv())], RunOptions(num_cpus=2))
    monkeypatch.setattr(in_process, "host_has_gpus", lambda: True)
    assert not choose(num_cpus=2)


def test_a_run_in_process_never_imports_ray(tmp_path: Path) -> None:
    """Ray's import is part of the start-up this path saves; a subprocess shows what loads."""
    code = textwrap.dedent(
        f"""
        import sys
        from tests.core.runtime.test_in_process import Double, Item, _options
        from pathlib import Path
        from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
        result = execute_pipeline([Item(1), Item(2)], [Double()], _options(Path({str(tmp_path)!r})))
        print(sorted(t.value for t in result.outputs), "ray" in sys.modules)
        """
    )
    done = fresh_python(code, cwd=Path(__file__).parents[3])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "[2, 4] False"
