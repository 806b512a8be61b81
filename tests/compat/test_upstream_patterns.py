"""Pipelines written for upstream Cosmos-Curate run here unchanged (docs/MIGRATING.md).

Every call below uses upstream's import paths and call shapes; the stages live in
`tests/compat/upstream_stages.py` so that Ray workers import them by name.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import ray
from tests.compat.upstream_stages import (
    Clip,
    FailOn,
    InCondaEnv,
    NamedByInit,
    PassThrough,
    UpstreamSetupHooks,
    WholeGpu,
    WithEnvInfo,
)

from cosmos_curate.core.interfaces.pipeline_interface import (
    PipelineExecutionError,
    download_models,
    run_pipeline,
)
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    CuratorStageSpec,
    PipelineTask,
)
from cosmos_curate.models.tiny_random_gpt2 import save_tiny_gpt2

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _clips(n: int) -> list[PipelineTask]:
    return [Clip(clip_id=i) for i in range(n)]


def test_v1_4_task_helpers_on_an_attrs_task() -> None:
    """`weight` and `fraction` are 1.0; `get_major_size()` is 0 unless a task overrides it."""
    base = PipelineTask()
    assert (base.weight, base.fraction, base.get_major_size()) == (1.0, 1.0, 0)
    assert Clip(clip_id=1, payload=b"abc").get_major_size() == 3


def test_positional_spec_fields_mean_what_they_mean_upstream() -> None:
    """`CuratorStageSpec(stage, 3)` is three workers; later fields keep upstream's order."""
    spec = CuratorStageSpec(PassThrough(), 3)
    assert (spec.num_workers, spec.num_workers_per_node) == (3, None)
    spec = CuratorStageSpec(PassThrough(), None, 1.5, 2, 4, True)
    assert spec.num_workers_per_node == 1.5
    assert (spec.num_setup_attempts_python, spec.num_run_attempts_python) == (2, 4)
    assert spec.ignore_failures is True
    assert spec.display_str() == "PassThrough num_workers_per_node=1.5 cpus=0.25 gpus=0"


def test_entire_gpu_resource_is_upstreams_mutable_record() -> None:
    """`entire_gpu`, `nvdecs`, `nvencs` are accepted, an int stays an int, fields assignable."""
    res = CuratorStageResource(cpus=1.0, gpus=1, nvdecs=2, nvencs=1, entire_gpu=True)
    assert isinstance(res.gpus, int)
    res.cpus = 2.0
    assert res.cpus == 2.0
    with pytest.raises(ValueError, match=r"entire_gpu.*gpus"):
        res.gpus = 0.5


def test_upstream_stage_shapes_run_end_to_end(ray_cluster: dict[str, Any], tmp_path: Path) -> None:
    """Own __init__ + self.name, default process_data, env worker, env_info, setup hooks."""
    node_log = tmp_path / "node_setups"
    stages: list[CuratorStage | CuratorStageSpec] = [
        CuratorStageSpec(NamedByInit("a"), 1),
        PassThrough(),
        InCondaEnv(),
        WithEnvInfo("on"),
        CuratorStageSpec(UpstreamSetupHooks(node_log), num_workers_per_node=1),
    ]
    snapshots: list[Any] = []
    out = run_pipeline(_clips(6), stages, progress_callbacks=[snapshots.append])
    assert sorted(t.clip_id for t in out) == list(range(6))
    for task in out:
        assert task.notes["label"] == "a"
        assert task.notes["env"] == "compat_env"  # CONDA_DEFAULT_ENV in the env's worker
        assert task.notes["imported"] == "True"  # the module-top import ran there
        assert task.notes["flag"] == "on"  # env_info's extra_env_vars reached the worker
        assert task.notes["setup"]  # upstream's setup(worker_metadata) override ran
    assert len(node_log.read_text().splitlines()) == 1  # setup_on_node: once on the node
    assert snapshots[-1].stages[0].name == "Labela"
    assert os.environ.get("CONDA_DEFAULT_ENV") != "compat_env"  # the driver is untouched


def test_entire_gpu_stage_gets_a_whole_gpu(ray_cluster: dict[str, Any]) -> None:
    """On the session's one declared GPU, the whole-GPU worker is handed GPU 0."""
    out = run_pipeline(_clips(3), [WholeGpu()])
    assert {t.notes["gpus"] for t in out} == {"0"}


def test_model_weights_prefix_positional_and_upstream_keywords(
    ray_cluster: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """`run_pipeline(tasks, stages, prefix, runner=, args=, stage_save_config=)` runs."""
    with caplog.at_level(logging.WARNING, logger="cosmos_curate"):
        out = run_pipeline(
            _clips(2), [PassThrough()], "s3://bucket/weights/", runner=object(), args=object()
        )
    assert len(out) == 2
    ignored = [r for r in caplog.records if "accepted and ignored" in r.getMessage()]
    assert len(ignored) == 1
    assert "runner" in ignored[0].getMessage() and "args" in ignored[0].getMessage()
    assert download_models([]) == 1  # nothing to fetch; the session cluster has one GPU


def test_ignore_failures_records_and_goes_on(ray_cluster: dict[str, Any], tmp_path: Path) -> None:
    """A spec with ignore_failures=True: the bad task is recorded, the others arrive."""
    switch = tmp_path / "broken"
    switch.touch()
    failures = tmp_path / "failures.jsonl"
    spec = CuratorStageSpec(FailOn(2, switch, tmp_path / "log"), ignore_failures=True)
    out = run_pipeline(_clips(5), [spec], failures_path=failures)
    assert sorted(t.clip_id for t in out) == [0, 1, 3, 4]
    (record,) = [json.loads(line) for line in failures.read_text().splitlines()]
    assert "corrupt clip 2" in record["error"]


def test_failing_stage_stops_the_run_and_resume_finishes_it(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """Upstream's default: PipelineExecutionError naming stage, task and cause; the record
    is written; after the fix, --resume finishes without redoing finished inputs."""
    switch, log, ckpt = tmp_path / "broken", tmp_path / "done.log", tmp_path / "ckpt"
    failures = tmp_path / "failures.jsonl"
    switch.touch()
    fail = FailOn(12, switch, log, delay=0.05, after_journal=ckpt / "journal.jsonl")
    with pytest.raises(PipelineExecutionError) as caught:
        run_pipeline(
            _clips(20),
            [CuratorStageSpec(fail, 1), PassThrough()],
            checkpoint_dir=ckpt,
            failures_path=failures,
        )
    error = caught.value
    assert "FailOn" in str(error) and "clip_id=12" in str(error)
    assert str(error).endswith("(Original error: corrupt clip 12)")
    assert isinstance(error.original_error, ValueError)
    assert str(failures) in error.message
    assert len(failures.read_text().splitlines()) == 1
    first_run = [int(x) for x in log.read_text().split()]
    assert first_run and 12 not in first_run

    switch.unlink()  # the bug is fixed
    # The resumed run logs apart: a killed worker of the first run may still append a line
    # for a moment after the error reached us (Ray reports the kill before the process ends).
    resumed_log = tmp_path / "resumed.log"
    fixed = FailOn(12, switch, resumed_log, delay=0.05)
    out = run_pipeline(
        _clips(20), [CuratorStageSpec(fixed, 1), PassThrough()], checkpoint_dir=ckpt, resume=True
    )
    resumed = [int(x) for x in resumed_log.read_text().split()]
    journaled = set(range(20)) - {t.clip_id for t in out}
    assert journaled and 12 not in journaled
    assert journaled <= {int(x) for x in log.read_text().split()}  # the first run did them
    assert not journaled & set(resumed)  # what the journal listed ran only once
    assert sorted(resumed) == sorted(set(range(20)) - journaled)  # the rest ran once each


def _python_m(module: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    weights = tmp_path / "weights"
    save_tiny_gpt2(weights / "openai-community" / "gpt2")
    env = {
        **os.environ,
        "CURATE_WEIGHTS_DIR": str(weights),
        "CURATE_RUNS_DIR": str(tmp_path / "runs"),
        "HF_HUB_OFFLINE": "1",
        "RAY_AUTH_MODE": "disabled",
        # The session's cluster: no second Ray on two cores, no clash on metrics port 9002.
        "RAY_ADDRESS": ray.get_runtime_context().gcs_address,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    return subprocess.run(
        [sys.executable, "-m", module],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("cosmos_curate.pipelines.examples.hello_world_pipeline", "the key to a creating good"),
        ("cosmos_curate.pipelines.examples.demo_task_chunking_pipeline", "word 3: FOX"),
    ],
)
def test_python_dash_m_runs_each_example(
    ray_cluster: dict[str, Any], tmp_path: Path, module: str, expected: str
) -> None:
    """`python -m <example>` runs its pipeline (tiny GPT-2) and exits 0."""
    result = _python_m(module, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert expected in (result.stdout + result.stderr)
