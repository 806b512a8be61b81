"""In process on two CPUs: the leading CPU stages run in a helper process, the rest here.

The stages note the process they ran in on each task, so the tests see where each ran; what
a user sees (outputs, failure records, the stop error, set-up errors, warnings, progress)
must be what the one-process runner gives.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from tests.core.runtime.test_in_process import BrokenSetup, Explode, Item
from tests.support import fresh_python

from cosmos_curate.core.interfaces.errors import CurateError, PipelineExecutionError
from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    CuratorStageSpec,
)
from cosmos_curate.core.runtime.errors import StageSetupError
from cosmos_curate.core.runtime.front_process import front_size
from cosmos_curate.core.runtime.run_options import RunOptions
from cosmos_curate.core.runtime.stage_spec import resolve_stages

ROOT = Path(__file__).resolve().parents[3]


class Where(CuratorStage[Item, Item]):
    """Notes `label:pid` on each task; raises on `bad`, warns on `warn`, dies on `die`."""

    def __init__(self, label: str, bad: int | None = None, warn: int | None = None) -> None:
        self.label = label
        self.bad = bad
        self.warn = warn
        self.die: int | None = None
        self.pause_s = 0.0

    def process_data(self, tasks: list[Item]) -> list[Item]:
        for task in tasks:
            if task.value == self.die:
                os.kill(os.getpid(), signal.SIGKILL)
            if task.value == self.bad:
                raise ValueError(f"bad value {task.value}")
            if task.value == self.warn:
                logging.getLogger("tests.where").warning("odd value %d", task.value)
            task.trail.append(f"{self.label}:{os.getpid()}")
        time.sleep(self.pause_s)
        return tasks


class OnGpu(Where):
    """Declares half a GPU: a model stage, which stays in the run's own process."""

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=1.0, gpus=0.5)


def _options(tmp_path: Path, **kw: Any) -> RunOptions:
    return RunOptions(
        run_dir=tmp_path / "run",
        metrics_port=None,
        check_weights=False,
        in_process=True,
        num_cpus=2,
        **kw,
    )


def _pids(task: Item) -> dict[str, int]:
    return {label: int(pid) for label, pid in (entry.split(":") for entry in task.trail)}


def test_leading_cpu_stages_run_in_a_helper_and_the_rest_here(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stages = [Where("load", warn=7), Where("prep"), OnGpu("model"), Where("write")]
    with caplog.at_level(logging.WARNING):
        result = execute_pipeline([Item(i) for i in range(100)], stages, _options(tmp_path))
    assert sorted(t.value for t in result.outputs) == list(range(100))
    helpers = set()
    for task in result.outputs:
        pids = _pids(task)
        assert pids["load"] == pids["prep"] != os.getpid()
        assert pids["model"] == pids["write"] == os.getpid()
        helpers.add(pids["load"])
    assert len(helpers) == 1  # one helper for the whole run
    assert not psutil.pid_exists(helpers.pop())  # and it is gone
    assert [s.tasks_done for s in result.progress.stages] == [100] * 4
    assert all(s.process_seconds_total > 0 for s in result.progress.stages)
    assert "odd value 7" in caplog.text  # the helper's warning reached this process's log
    assert result.report_path is not None and result.report_path.is_file()


def test_a_helper_stage_failure_is_recorded_here_and_stops_unless_ignored(
    tmp_path: Path,
) -> None:
    ignored = CuratorStageSpec(Where("load", bad=5), ignore_failures=True)
    items = [Item(i) for i in range(10)]
    result = execute_pipeline(items, [ignored, OnGpu("model")], _options(tmp_path / "a"))
    assert sorted(t.value for t in result.outputs) == [i for i in range(10) if i != 5]
    assert result.num_failures == 1 and result.failures_path is not None
    records = [json.loads(line) for line in result.failures_path.read_text().splitlines()]
    assert [r["stage"] for r in records] == ["Where"]
    assert "ValueError: bad value 5" in records[0]["error"]
    assert "value=5" in records[0]["task_repr"]

    options = _options(tmp_path / "b")
    with pytest.raises(PipelineExecutionError) as caught:
        execute_pipeline(items, [Where("load", bad=5), OnGpu("model")], options)
    message = str(caught.value)
    assert "stage Where failed on task" in message and "ValueError" in message
    assert str(tmp_path / "b" / "run" / "failures.jsonl") in message


def test_a_helper_retry_gets_the_task_as_it_was(tmp_path: Path) -> None:
    flaky = CuratorStageSpec(Explode(bad=3, fail_first_attempts=1), num_run_attempts_python=2)
    result = execute_pipeline([Item(3)], [flaky, OnGpu("model")], _options(tmp_path))
    assert result.num_failures == 0
    assert [t.trail[0] for t in result.outputs] == ["seen", "seen"]  # one "seen" each
    assert all(len(t.trail) == 2 for t in result.outputs)  # + the model stage's note


def test_a_helper_set_up_that_keeps_failing_is_a_stage_setup_error(tmp_path: Path) -> None:
    broken = CuratorStageSpec(BrokenSetup(failures=5), num_setup_attempts_python=2)
    with pytest.raises(StageSetupError, match="stage BrokenSetup: stage_setup failed 2 time"):
        execute_pipeline([Item(1)], [broken, OnGpu("model")], _options(tmp_path))


def test_a_killed_helper_is_an_error_naming_it_not_a_hang(tmp_path: Path) -> None:
    dying = Where("load")
    dying.die = 40
    items = [Item(i) for i in range(100)]
    with pytest.raises(CurateError, match=r"helper process running Where ended \(exit code -9\)"):
        execute_pipeline(items, [dying, OnGpu("model")], _options(tmp_path))


def test_an_error_reading_the_inputs_stops_the_run_with_that_error(tmp_path: Path) -> None:
    def inputs() -> Iterator[Item]:
        yield from (Item(i) for i in range(40))
        raise RuntimeError("listing the bucket failed")

    with pytest.raises(RuntimeError, match="listing the bucket failed"):
        execute_pipeline(inputs(), [Where("load"), OnGpu("model")], _options(tmp_path))


def test_stages_that_cannot_be_pickled_stay_in_this_process(tmp_path: Path) -> None:
    class Local(Where):  # defined in a function: pickle cannot name it
        pass

    result = execute_pipeline([Item(1)], [Local("load"), OnGpu("model")], _options(tmp_path))
    assert [_pids(t) for t in result.outputs] == [{"load": os.getpid(), "model": os.getpid()}]


def test_stages_of_the_running_script_stay_in_its_process(tmp_path: Path) -> None:
    """A stage class defined in the script being run (`__main__`): the helper, a fresh
    interpreter, could not load it, and must never run the script again."""
    code = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from tests.core.runtime.test_front_process import OnGpu, Where, _options
        from tests.core.runtime.test_in_process import Item
        from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
        print("script ran", flush=True)
        class Mine(Where):
            pass
        result = execute_pipeline([Item(1)], [Mine("load"), OnGpu("model")],
                                  _options(Path({str(tmp_path)!r})))
        print([t.trail for t in result.outputs] == [[f"load:{{os.getpid()}}",
                                                       f"model:{{os.getpid()}}"]])
        """
    )
    done = fresh_python(code, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["script", "ran", "True"]  # ran once, all here


def test_which_stages_go_to_the_helper(tmp_path: Path) -> None:
    def count(stages: list[CuratorStage[Any, Any]], cpus: float) -> int:
        specs = [CuratorStageSpec(s) for s in stages]
        return front_size(
            resolve_stages(specs, cluster_gpus=0.0, require_gpu=False, run_dir=tmp_path), cpus
        )

    a, b, gpu, w = Where("a"), Where("b"), OnGpu("g"), Where("w")
    assert count([a, b, gpu, w], 2) == 2  # up to the first model stage
    assert count([a, b, w], 4) == 2  # never the last stage
    assert count([gpu, a, w], 2) == 0
    assert count([a], 2) == 0
    assert count([a, b, gpu, w], 1) == 0  # one CPU: nothing to gain


_DRIVER = """
import sys
from pathlib import Path
from tests.core.runtime.test_front_process import OnGpu, Where, _options
from tests.core.runtime.test_in_process import Item
from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
slow = Where("load")
slow.pause_s = 0.2
execute_pipeline((Item(i) for i in range(10_000)), [slow, OnGpu("model")],
                 _options(Path(sys.argv[1])))
"""


def _helper_of(driver: subprocess.Popen[str]) -> psutil.Process:
    """The driver's helper process, once it runs."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for child in psutil.Process(driver.pid).children():
            if "helper_entry" in " ".join(child.cmdline()):
                return child
        time.sleep(0.1)
    raise AssertionError("no helper process started")


@pytest.mark.parametrize("how", ["ctrl-c", "sigkill"])
def test_the_helper_ends_with_the_run(tmp_path: Path, how: str) -> None:
    """Ctrl-C (SIGINT to the whole process group) or a killed driver: no helper stays."""
    driver = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_DRIVER), str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        helper = _helper_of(driver)
        time.sleep(1.0)  # inside the stages' work
        if how == "ctrl-c":
            os.killpg(driver.pid, signal.SIGINT)
        else:
            driver.kill()
        output, _ = driver.communicate(timeout=60)
        assert driver.returncode != 0
        if how == "ctrl-c":
            assert "KeyboardInterrupt" in output
        helper.wait(timeout=30)  # raises if it is still there
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()


def test_the_report_gives_each_stage_its_busy_share(tmp_path: Path) -> None:
    """No call is in flight when an in-process run reports; the report's busy time is each
    stage's seconds inside calls, the helper's stages included."""
    from cosmos_curate.report.busy import phases
    from cosmos_curate.report.series import read_series

    load, model = Where("load"), OnGpu("model")
    load.pause_s, model.pause_s = 0.005, 0.03  # per call of one task: the model is slowest
    result = execute_pipeline([Item(i) for i in range(60)], [load, model], _options(tmp_path))
    report = phases(read_series(tmp_path / "run"))
    busy = {s.name: s for s in report.stages}
    assert report.busiest is not None and report.busiest.name == "OnGpu"
    assert 0.3 < busy["OnGpu"].share <= 1.0 and 0.0 < busy["Where"].share < busy["OnGpu"].share
    for stage in result.progress.stages:  # the same seconds the result reports
        assert busy[stage.name].busy_s == pytest.approx(stage.process_seconds_total, abs=0.01)
