"""The streaming runtime on a real Ray cluster: ordering, shapes, placement, failures."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import attrs
import psutil
import pytest

from cosmos_curate.core.interfaces.errors import PipelineExecutionError
from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline, run_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    CuratorStageSpec,
    PipelineTask,
)
from cosmos_curate.core.runtime.errors import StageSetupError
from cosmos_curate.core.runtime.run_options import EngineOptions

pytestmark = pytest.mark.integration


@attrs.define
class Item(PipelineTask):
    """A numbered task that stages stamp as it passes."""

    id: int
    stamps: dict[str, float] = attrs.field(factory=dict)
    pids: dict[str, int] = attrs.field(factory=dict)
    text: str = ""


@attrs.define
class Total(PipelineTask):
    """A different task type: the sum of a batch of items."""

    ids: list[int]


class Stamp(CuratorStage[Item, Item]):
    """Sleeps `delay` seconds per task and records when it finished it."""

    def __init__(self, key: str, delay: float = 0.0, cpus: float = 0.5) -> None:
        self.key, self.delay, self.cpus = key, delay, cpus

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=self.cpus)

    def process_data(self, tasks: list[Item]) -> list[Item] | None:
        for task in tasks:
            time.sleep(self.delay)
            task.stamps[self.key] = time.time()
            task.pids[self.key] = os.getpid()
        return tasks


def _ids(tasks: list[Any]) -> list[int]:
    return sorted(t.id for t in tasks)


class WaitForMarker(Stamp):
    """Starts work only once `marker` exists (so worker start-up time cannot hide streaming)."""

    def __init__(self, key: str, delay: float, marker: Path) -> None:
        super().__init__(key, delay)
        self.marker = marker

    def stage_setup(self) -> None:
        deadline = time.time() + 120
        while not self.marker.exists() and time.time() < deadline:
            time.sleep(0.05)


class WriteMarker(Stamp):
    def __init__(self, key: str, marker: Path) -> None:
        super().__init__(key)
        self.marker = marker

    def stage_setup(self) -> None:
        self.marker.touch()


def test_stages_stream_rather_than_run_one_after_another(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """Stage 2 finishes its first task before slow stage 1 has finished all input."""
    ready = tmp_path / "second-ready"
    out = run_pipeline(
        [Item(i) for i in range(12)],
        [
            CuratorStageSpec(WaitForMarker("first", 0.25, ready), num_workers=1),
            CuratorStageSpec(WriteMarker("second", ready), num_workers=1),
        ],
    )
    assert _ids(out) == list(range(12))
    first_second = min(t.stamps["second"] for t in out)
    last_first = max(t.stamps["first"] for t in out)
    assert first_second < last_first


class SplitWords(CuratorStage[Item, Item]):
    def process_data(self, tasks: list[Item]) -> list[Item] | None:
        return [Item(t.id * 100 + i, text=w) for t in tasks for i, w in enumerate(t.text.split())]


class SumBatch(CuratorStage[Item, Total]):
    @property
    def stage_batch_size(self) -> int:
        return 4

    def process_data(self, tasks: list[Item]) -> list[Total] | None:
        assert len(tasks) <= 4, "a call must never exceed stage_batch_size"
        return [Total(ids=[t.id for t in tasks])]


class DropOdd(CuratorStage[Item, Item]):
    def process_data(self, tasks: list[Item]) -> list[Item] | None:
        kept = [t for t in tasks if t.id % 2 == 0]
        return kept or None


def test_one_to_many_chunking(ray_cluster: dict[str, Any]) -> None:
    """A stage may return more tasks than it got: every word becomes a task downstream."""
    sentences = [Item(i, text=" ".join(["w"] * (i + 1))) for i in range(6)]
    out = run_pipeline(sentences, [SplitWords(), Stamp("after")])
    assert len(out) == sum(range(1, 7))
    assert all("after" in t.stamps for t in out)


def test_many_to_one_with_type_change_and_batch_size(ray_cluster: dict[str, Any]) -> None:
    """stage_batch_size=4 hands at most four tasks per call; outputs may be a new type."""
    out = run_pipeline([Item(i) for i in range(22)], [Stamp("a"), SumBatch()])
    assert all(isinstance(t, Total) for t in out)
    assert sorted(i for t in out for i in t.ids) == list(range(22))
    assert all(len(t.ids) <= 4 for t in out)
    assert len(out) >= 6  # 22 tasks in batches of at most 4


def test_none_and_empty_results_drop_tasks(ray_cluster: dict[str, Any]) -> None:
    """Returning None or [] drops tasks; the others go on."""
    out = run_pipeline([Item(i) for i in range(10)], [DropOdd(), Stamp("b")])
    assert _ids(out) == [0, 2, 4, 6, 8]


def test_generator_input_and_empty_input(ray_cluster: dict[str, Any]) -> None:
    """Any iterable works as input, including a generator and an empty list."""
    assert _ids(run_pipeline((Item(i) for i in range(5)), [Stamp("g")])) == list(range(5))
    assert run_pipeline([], [Stamp("g")]) == []


def _await_peers(folder: Path, count: int, timeout: float) -> None:
    """Wait (up to `timeout` s) until `count` workers have signed in to `folder` (a file each)."""
    deadline = time.monotonic() + timeout
    while len(list(folder.iterdir())) < count and time.monotonic() < deadline:
        time.sleep(0.05)


class WaitForPeers(Stamp):
    """Each worker signs in at set-up and starts work once `peers` workers have signed in, so
    the test checks how many workers run, not whether the second started before the first
    had done every task."""

    def __init__(self, key: str, delay: float, folder: Path, peers: int) -> None:
        super().__init__(key, delay, cpus=0.25)
        self.folder, self.peers = folder, peers

    def stage_setup(self) -> None:
        (self.folder / str(os.getpid())).touch()
        _await_peers(self.folder, self.peers, timeout=120)


def test_num_workers_per_node_runs_exactly_that_many(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """num_workers_per_node=2 on the one-node cluster: tasks land on exactly two processes."""
    workers = tmp_path / "workers"
    workers.mkdir()
    out = run_pipeline(
        [Item(i) for i in range(40)],
        [CuratorStageSpec(WaitForPeers("io", 0.05, workers, 2), num_workers_per_node=2)],
    )
    assert len({t.pids["io"] for t in out}) == 2
    assert len(list(workers.iterdir())) == 2  # no third worker was started


class GpuSleep(CuratorStage[Item, Item]):
    """A 0.25-GPU stage recording which GPU it got and when it ran.

    Each worker's first batch waits (up to `wait_s`) until `meet` workers are inside
    `process_data` at the same moment, so the test checks that they can run at once rather than
    that each happened to win an item before the others had taken them all.
    """

    def __init__(self, rendezvous: Path, meet: int, wait_s: float = 60.0) -> None:
        self.rendezvous, self.meet, self.wait_s = rendezvous, meet, wait_s
        self._met = False

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.1, gpus=0.25)

    def process_data(self, tasks: list[Item]) -> list[Item] | None:
        import ray

        start = time.time()
        if not self._met:
            (self.rendezvous / str(os.getpid())).touch()
            _await_peers(self.rendezvous, self.meet, timeout=self.wait_s)
            self._met = True
        time.sleep(0.4)
        for task in tasks:
            task.stamps["start"], task.stamps["end"] = start, time.time()
            task.pids["gpu"] = os.getpid()
            task.text = ",".join(str(g) for g in ray.get_gpu_ids())
        return tasks


def test_quarter_gpu_workers_pack_four_on_one_gpu(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """Five 0.25-GPU workers on one declared GPU: four run at once, the fifth does not fit."""
    rendezvous = tmp_path / "rendezvous"
    rendezvous.mkdir()
    stage = GpuSleep(rendezvous, meet=4)
    out = run_pipeline([Item(i) for i in range(24)], [CuratorStageSpec(stage, num_workers=5)])
    assert _ids(out) == list(range(24))
    assert {t.text for t in out} == {"0"}  # every worker shares GPU 0
    assert len(list(rendezvous.iterdir())) == 4  # four workers processed; the fifth did not fit
    events = sorted([(t.stamps["start"], 1) for t in out] + [(t.stamps["end"], -1) for t in out])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak == 4


class FlakyOnce(CuratorStage[Item, Item]):
    """Fails the first attempt of every task (marker files survive the retry)."""

    def __init__(self, marker_dir: Path) -> None:
        self.marker_dir = marker_dir

    def process_data(self, tasks: list[Item]) -> list[Item] | None:
        for task in tasks:
            marker = self.marker_dir / f"{task.id}"
            if not marker.exists():
                marker.touch()
                raise RuntimeError(f"transient failure on {task.id}")
            task.text = "ok"
        return tasks


def test_retries_recover_a_flaky_stage(ray_cluster: dict[str, Any], tmp_path: Path) -> None:
    """With num_run_attempts_python=2, a stage failing once per task loses nothing."""
    result = execute_pipeline(
        [Item(i) for i in range(10)],
        [CuratorStageSpec(FlakyOnce(tmp_path), num_run_attempts_python=2)],
    )
    assert _ids(result.outputs) == list(range(10))
    assert {t.text for t in result.outputs} == {"ok"}
    assert result.num_failures == 0


class FailSome(CuratorStage[Item, Item]):
    def process_data(self, tasks: list[Item]) -> list[Item] | None:
        for task in tasks:
            if task.id % 5 == 0:
                raise ValueError(f"bad input {task.id}")
        return tasks


def test_failures_become_records_and_the_run_goes_on(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """With ignore_failures, tasks that always raise are written as JSON lines and all
    others still arrive."""
    path = tmp_path / "failures.jsonl"
    result = execute_pipeline(
        [Item(i) for i in range(20)],
        [
            CuratorStageSpec(FailSome(), num_run_attempts_python=3, ignore_failures=True),
            Stamp("after"),
        ],
        failures_path=path,
    )
    assert _ids(result.outputs) == [i for i in range(20) if i % 5]
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(records) == 4 == result.num_failures
    assert {r["stage"] for r in records} == {"FailSome"}
    assert all(r["attempts"] == 3 for r in records)
    assert all("ValueError: bad input" in r["error"] for r in records)
    assert all("Traceback" in r["traceback"] and "process_data" in r["traceback"] for r in records)
    assert sorted(r["task_repr"].split("id=")[1].split(",")[0] for r in records) == [
        "0",
        "10",
        "15",
        "5",
    ]


class FailOnceAllSetUp(CuratorStage[Item, Item]):
    """Each worker notes its PID once set up; task 0 fails when all have, the others sleep."""

    def __init__(self, pids: Path, workers: int) -> None:
        self.pids, self.workers = pids, workers

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def stage_setup(self) -> None:
        (self.pids / str(os.getpid())).touch()

    def process_data(self, tasks: list[Item]) -> list[Item] | None:
        for task in tasks:
            if task.id == 0:
                _await_peers(self.pids, self.workers, timeout=60)
                time.sleep(0.5)  # their setup reports reach the driver first
                raise ValueError("bad input 0")
            time.sleep(30)
        return tasks


def test_no_worker_runs_when_a_failed_run_returns(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """When a failure stops the run, its error reaches the caller only after the process of
    every worker that had set up has ended (Ray reports a kill a moment before that)."""
    pids = tmp_path / "pids"
    pids.mkdir()
    stage = CuratorStageSpec(
        FailOnceAllSetUp(pids, workers=3), num_workers=3, num_run_attempts_python=1
    )
    with pytest.raises(PipelineExecutionError, match="bad input 0"):
        run_pipeline([Item(i) for i in range(6)], [stage])
    workers = [int(p.name) for p in pids.iterdir()]
    assert len(workers) == 3
    running = [pid for pid in workers if psutil.pid_exists(pid) and _not_zombie(pid)]
    assert not running, f"workers still running after the run returned: {running}"


def _not_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class KillOnce(CuratorStage[Item, Item]):
    """The worker process holding task `victim` dies (SIGKILL) the first time it sees it."""

    def __init__(self, marker: Path, victim: int) -> None:
        self.marker, self.victim = marker, victim

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Item]) -> list[Item] | None:
        for task in tasks:
            if task.id == self.victim and not self.marker.exists():
                self.marker.touch()
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(0.01)
            task.pids["kill"] = os.getpid()
        return tasks


def test_killed_worker_loses_and_duplicates_nothing(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """A worker killed mid-run: its in-flight tasks re-run elsewhere, each output exactly once."""
    marker = tmp_path / "killed"
    out = run_pipeline(
        [Item(i) for i in range(200)],
        [Stamp("before"), KillOnce(marker, victim=77), Stamp("after")],
    )
    assert marker.exists(), "the victim task was never reached"
    ids = [t.id for t in out]
    assert len(ids) == len(set(ids)) == 200
    assert sorted(ids) == list(range(200))


class BrokenSetup(Stamp):
    def stage_setup(self) -> None:
        raise OSError("cannot open /models/missing.bin")


def test_setup_that_keeps_failing_stops_the_run(ray_cluster: dict[str, Any]) -> None:
    """A stage whose setup raises every time ends the run with its error, not a hang."""
    with pytest.raises(StageSetupError, match=r"BrokenSetup.*missing\.bin"):
        run_pipeline([Item(i) for i in range(5)], [Stamp("a"), BrokenSetup("b")])


class NodeSetupCounter(Stamp):
    def __init__(self, log: Path) -> None:
        super().__init__("n", 0.02, cpus=0.25)
        self.log = log

    def stage_setup_on_node(self) -> None:
        with self.log.open("a") as f:
            f.write(f"{os.getpid()}\n")


def test_stage_setup_on_node_runs_once_per_node(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """Three workers on one node: the per-node hook runs once, all workers still set up."""
    log = tmp_path / "node_setups"
    out = run_pipeline(
        [Item(i) for i in range(30)], [CuratorStageSpec(NodeSetupCounter(log), num_workers=3)]
    )
    assert len(out) == 30
    assert len(log.read_text().splitlines()) == 1


def test_missing_conda_env_falls_back_with_one_warning(
    ray_cluster: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stage naming an env that is not installed runs in this interpreter, warned once."""

    class InEnv(Stamp):
        @property
        def conda_env_name(self) -> str | None:
            return "not-installed"

    monkeypatch.setenv("CURATE_ENVS_DIR", str(tmp_path / "envs"))
    with caplog.at_level("WARNING", logger="cosmos_curate"):
        out = run_pipeline([Item(i) for i in range(4)], [InEnv("x"), InEnv("y")])
    assert len(out) == 4
    warnings = [r for r in caplog.records if "not-installed" in r.getMessage()]
    assert len(warnings) == 1


def test_progress_reports_every_stage(ray_cluster: dict[str, Any]) -> None:
    """Progress snapshots name each stage and end with all tasks done."""
    snapshots: list[Any] = []
    run_pipeline(
        [Item(i) for i in range(50)],
        [Stamp("p", 0.01), Stamp("q")],
        progress_callbacks=[snapshots.append],
    )
    final = snapshots[-1]
    assert final.finished
    assert [s.name for s in final.stages] == ["Stamp", "Stamp_2"]
    assert [s.tasks_done for s in final.stages] == [50, 50]
    assert final.outputs == 50


class DieInFirstSetup(Stamp):
    """The first worker's process dies during stage_setup (killed, as by the OOM killer)."""

    def __init__(self, marker: Path, always: bool = False) -> None:
        super().__init__("setup", 0.0)
        self.marker, self.always = marker, always

    def stage_setup(self) -> None:
        if self.always or not self.marker.exists():
            self.marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)


def test_worker_killed_during_setup_is_replaced(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """A worker process lost before its setup returned is not a setup failure: the stage
    starts another and the run delivers every task."""
    marker = tmp_path / "died"
    out = run_pipeline([Item(i) for i in range(20)], [DieInFirstSetup(marker), Stamp("after")])
    assert marker.exists()
    assert _ids(out) == list(range(20))


def test_workers_that_always_die_in_setup_stop_the_run(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """A stage_setup that crashes its process every time ends the run with a clear error,
    once `max_setup_deaths_in_a_row` workers died (2 here: each death is a worker start)."""
    with pytest.raises(StageSetupError, match=r"2 workers in a row died during setup"):
        run_pipeline(
            [Item(i) for i in range(5)],
            [DieInFirstSetup(tmp_path / "died", always=True)],
            engine_options=EngineOptions(max_setup_deaths_in_a_row=2),
        )
