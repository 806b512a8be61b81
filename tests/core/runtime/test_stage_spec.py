"""Resolving stage specs once, before a run: CPU fallback, names, worker settings (pure)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    CuratorStageSpec,
    StageEnvInfo,
)
from cosmos_curate.core.runtime.errors import GpuRequiredError
from cosmos_curate.core.runtime.stage_spec import WeightsPolicy, resolve_stages
from cosmos_curate.core.utils.device import DEVICE_ENV_VAR


class HalfGpu(CuratorStage[Any, Any]):
    """A stage whose workers ask for half a GPU."""

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=1.0, gpus=0.5)

    def process_data(self, tasks: list[Any]) -> list[Any]:
        return tasks


def test_gpu_stage_on_a_cpu_cluster_falls_back_to_cpu(tmp_path: Path) -> None:
    """No GPU in the cluster: the stage asks Ray for none and its workers are told `cpu`."""
    (stage,) = resolve_stages(
        [CuratorStageSpec(HalfGpu())], cluster_gpus=0, require_gpu=False, run_dir=tmp_path
    )
    assert (stage.gpus, stage.declared_gpus, stage.cpu_fallback) == (0.0, 0.5, True)
    assert (DEVICE_ENV_VAR, "cpu") in stage.worker_config.environment
    (on_gpu,) = resolve_stages(
        [CuratorStageSpec(HalfGpu())], cluster_gpus=1, require_gpu=False, run_dir=tmp_path
    )
    assert (on_gpu.gpus, on_gpu.cpu_fallback) == (0.5, False)
    assert DEVICE_ENV_VAR not in dict(on_gpu.worker_config.environment)


def test_require_gpu_turns_the_fallback_into_an_error(tmp_path: Path) -> None:
    """`--require-gpu` on a CPU cluster: one clear error naming the stage and the way out."""
    with pytest.raises(GpuRequiredError, match=r"stage HalfGpu needs 0\.5 GPU.*--require-gpu"):
        resolve_stages(
            [CuratorStageSpec(HalfGpu())], cluster_gpus=0, require_gpu=True, run_dir=tmp_path
        )


def test_repeated_stages_get_unique_names_and_their_own_settings(tmp_path: Path) -> None:
    """Two stages of one class are told apart in metrics and records; overrides apply."""
    specs = [
        CuratorStageSpec(HalfGpu()),
        CuratorStageSpec(HalfGpu(), stage_batch_size=4, num_run_attempts_python=3),
    ]
    policy = WeightsPolicy(download_missing=True)
    first, second = resolve_stages(
        specs, cluster_gpus=1, require_gpu=False, run_dir=tmp_path, weights_on_node=policy
    )
    assert (first.name, second.name) == ("HalfGpu", "HalfGpu_2")
    config = second.worker_config
    assert (config.stage_name, config.batch_size, config.run_attempts) == ("HalfGpu_2", 4, 3)
    assert config.weights == policy
    assert pickle.loads(pickle.dumps(config)) == config  # sent to every worker


class Plain(CuratorStage[Any, Any]):
    """A CPU stage with no overrides of its own."""


class InEnv(Plain):
    @property
    def conda_env_name(self) -> str | None:
        return "video"


class WithEnvInfo(Plain):
    @property
    def env_info(self) -> StageEnvInfo:
        return StageEnvInfo(conda_env_name="transformers", extra_env_vars={"TOKENIZERS": "1"})


class Codecs(Plain):
    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=1, nvdecs=2)


def _resolve(*specs: CuratorStageSpec, tmp_path: Path, **run: Any) -> list[Any]:
    return resolve_stages(list(specs), cluster_gpus=0, require_gpu=False, run_dir=tmp_path, **run)


def test_none_fields_resolve_to_the_documented_defaults(tmp_path: Path) -> None:
    """Attempts 1, two slots per actor, failures stop the run, workers live forever."""
    (stage,) = _resolve(CuratorStageSpec(Plain()), tmp_path=tmp_path)
    assert (stage.run_attempts, stage.setup_attempts, stage.slots_per_actor) == (1, 1, 2)
    assert (stage.ignore_failures, stage.reset_workers_on_failure) == (False, False)
    assert (stage.worker_max_lifetime_s, stage.worker_restart_interval_s) == (0.0, 60.0)
    assert stage.max_setup_failure_percentage is None


def test_spec_values_win_over_the_runs_defaults(tmp_path: Path) -> None:
    """The run's ignore_failures applies to specs that leave theirs None, and only to them."""
    specs = [
        CuratorStageSpec(Plain()),
        CuratorStageSpec(Plain(), ignore_failures=False, slots_per_actor=1),
        CuratorStageSpec(Plain(), worker_max_lifetime_m=0.5, worker_restart_interval_m=0),
    ]
    first, second, third = _resolve(*specs, tmp_path=tmp_path, ignore_failures=True)
    assert (first.ignore_failures, second.ignore_failures) == (True, False)
    assert second.slots_per_actor == 1
    assert (third.worker_max_lifetime_s, third.worker_restart_interval_s) == (30.0, 0.0)


def test_env_workers_get_conda_default_env_and_extra_variables(tmp_path: Path) -> None:
    """CONDA_DEFAULT_ENV names the stage's env even when it is missing; env_info adds vars."""
    plain, video, info = _resolve(
        CuratorStageSpec(Plain()),
        CuratorStageSpec(InEnv()),
        CuratorStageSpec(WithEnvInfo()),
        tmp_path=tmp_path,
    )
    assert "CONDA_DEFAULT_ENV" not in dict(plain.worker_config.environment)
    assert dict(video.worker_config.environment)["CONDA_DEFAULT_ENV"] == "video"
    env = dict(info.worker_config.environment)
    assert (env["CONDA_DEFAULT_ENV"], env["TOKENIZERS"]) == ("transformers", "1")


def test_unused_settings_are_warned_once_per_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """nvdecs, over_provision_factor and a fractional per-node count: one line each."""
    specs = [
        CuratorStageSpec(Codecs(), over_provision_factor=2.0),
        CuratorStageSpec(Codecs(), num_workers_per_node=0.5, over_provision_factor=1.5),
    ]
    with caplog.at_level("WARNING", logger="cosmos_curate"):
        _first, second = _resolve(*specs, tmp_path=tmp_path)
    lines = [r.getMessage() for r in caplog.records if "accepted and ignored" in r.getMessage()]
    assert len(lines) == 3
    assert any("over_provision_factor" in line and "Codecs, Codecs_2" in line for line in lines)
    assert second.fixed_per_node == 1  # 0.5 per node rounds up to one worker on every node


class Cpus(Plain):
    """A CPU stage asking for `cpus` per worker."""

    def __init__(self, cpus: float) -> None:
        self.cpus = cpus

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=self.cpus)


def test_stages_too_big_together_are_scaled_to_fit_one_worker_each(tmp_path: Path) -> None:
    """1 + 0.5 + 0.5 + 0.25 + 0.25 + 0.25 CPUs on a 2-CPU cluster: every stage still gets a
    worker at once (image-annotate's stages on a 2-core machine stalled when the last two could
    not start), in the declared proportions, in amounts Ray accepts."""
    wanted = [1.0, 0.5, 0.5, 0.25, 0.25, 0.25]
    specs = [CuratorStageSpec(Cpus(c)) for c in wanted]
    resolved = _resolve(*specs, tmp_path=tmp_path, cluster_cpus=2)
    cpus = [s.cpus for s in resolved]
    assert sum(cpus) <= 2
    assert cpus[0] == 2 * cpus[1] == 4 * cpus[3] == pytest.approx(2 / 2.75, abs=1e-3)
    assert all(round(c, 4) == c for c in cpus)
    assert [s.cpus for s in _resolve(*specs, tmp_path=tmp_path, cluster_cpus=3)] == wanted
    assert [s.cpus for s in _resolve(*specs, tmp_path=tmp_path)] == wanted  # no cluster given


def test_a_stage_too_big_alone_is_not_scaled(tmp_path: Path) -> None:
    """One worker needing more than the cluster has is left to the planner's clear error, and
    a scaled request above one CPU stays whole (Ray refuses fractions there)."""
    big = _resolve(CuratorStageSpec(Cpus(4)), CuratorStageSpec(Plain()), tmp_path=tmp_path,
                   cluster_cpus=2)  # fmt: skip
    assert big[0].cpus == 4
    whole = _resolve(CuratorStageSpec(Cpus(3)), CuratorStageSpec(Cpus(3)), tmp_path=tmp_path,
                     cluster_cpus=4)  # fmt: skip
    assert [s.cpus for s in whole] == [2.0, 2.0]
