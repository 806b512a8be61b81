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
