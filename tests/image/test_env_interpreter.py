"""Outside Docker: a stage whose model names env X runs in `$CURATE_ENVS_DIR/X/bin/python`.

The envs are plain venvs. Each sees the project through a .pth file (this checkout's venv
site-packages and src/), the same way the image's envs see the code through PYTHONPATH.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]


def load_probe_module() -> ModuleType:
    """tests/image/probe/curate_image_probe.py, pickled by value so workers need not find it."""
    import ray.cloudpickle

    name = "curate_image_probe"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, HERE / "probe" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    ray.cloudpickle.register_pickle_by_value(module)
    return module


def make_venv_env(envs_dir: Path, name: str) -> Path:
    """A venv at envs_dir/name that imports Ray and the project; returns its python.

    --copies gives it its own interpreter file, as a conda env has, rather than a
    symlink to the base interpreter that this test process also resolves to.
    """
    prefix = envs_dir / name
    subprocess.run(
        [sys.executable, "-m", "venv", "--copies", "--without-pip", str(prefix)], check=True
    )
    python = prefix / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    parent_site = sysconfig.get_paths()["purelib"]
    (Path(purelib) / "curate_parent_env.pth").write_text(f"{parent_site}\n{REPO_ROOT / 'src'}\n")
    return python


@pytest.mark.integration
def test_stage_runs_setup_and_process_in_its_envs_python(
    ray_cluster: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stage_setup and process_data of a model stage run in the env named by its model.

    A second stage without a model runs in the driver's interpreter: the env switch is per
    stage, not global.
    """
    from cosmos_curate.core.interfaces.pipeline_interface import run_pipeline

    probe = load_probe_module()
    envs_dir = tmp_path / "envs"
    env_python = make_venv_env(envs_dir, "transformers")
    monkeypatch.setenv("CURATE_ENVS_DIR", str(envs_dir))

    class DriverEnvStage(probe.ProbeStage):  # type: ignore[name-defined,misc]
        """Same probe without a model: no conda env."""

        @property
        def model(self) -> None:
            return None

    tasks = [probe.ProbeTask(index=i) for i in range(3)]
    in_env = run_pipeline(tasks, [probe.ProbeStage("transformers")], metrics_port=None)
    assert sorted(t.index for t in in_env) == [0, 1, 2]
    for task in in_env:
        assert task.setup_executable == str(env_python)
        assert task.process_executable == str(env_python)

    plain = run_pipeline([probe.ProbeTask(index=9)], [DriverEnvStage()], metrics_port=None)
    assert plain[0].process_executable != str(env_python)
    assert Path(plain[0].process_executable).parent == Path(sys.executable).parent
