"""A wheel install works from any folder: registry, env recipes and image template ship inside.

Built with pip from this checkout, installed without its dependencies into a fresh venv that
borrows them from the test venv (a .pth line, so the checkout's editable install stays out of
sight), and driven through its own `curate` script from a folder outside the checkout.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cosmos_curate.models.tiny_random_gpt2 import save_tiny_gpt2

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the built wheel; dependencies come from the test venv."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(work / "dist"), str(REPO)],
        check=True, timeout=300,
    )
    (wheel,) = (work / "dist").glob("cosmos_curate-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "cosmos_curate/_project/configs/all_models.json" in names
    assert "cosmos_curate/_project/Dockerfile.j2" in names
    assert "cosmos_curate/_project/envs/transformers/build_steps.dockerfile.j2" in names
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (purelib,) = venv.glob("lib/python*/site-packages")
    (purelib / "borrowed_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
         "--no-deps", str(wheel)],
        check=True, timeout=300,
    )
    return venv


def _curate(venv: Path, args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CURATE_REPO_ROOT")}
    environ.update(env)
    return subprocess.run(
        [str(venv / "bin" / "curate"), *args], cwd=cwd, env=environ, capture_output=True,
        text=True, timeout=600, check=False,
    )


def test_installed_code_is_the_wheel_not_the_checkout(wheel_venv: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(wheel_venv / "bin" / "python"), "-c",
         "import cosmos_curate; print(cosmos_curate.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert proc.stdout.strip().startswith(str(wheel_venv))


def test_model_list_reads_the_shipped_registry(wheel_venv: Path, tmp_path: Path) -> None:
    proc = _curate(
        wheel_venv, ["model", "list"], tmp_path,
        CURATE_WEIGHTS_DIR=str(tmp_path / "w"), COLUMNS="250",
    )
    assert proc.returncode == 0, proc.stderr
    assert "openai-community/gpt2" in proc.stdout


def test_image_dry_run_renders_the_shipped_template(wheel_venv: Path, tmp_path: Path) -> None:
    proc = _curate(wheel_venv, ["image", "build", "--envs", "transformers", "--dry-run"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "FROM " in proc.stdout
    assert "transformers" in proc.stdout


def test_image_build_without_a_checkout_is_one_error_line(wheel_venv: Path, tmp_path: Path) -> None:
    proc = _curate(wheel_venv, ["image", "build", "--envs", "transformers"], tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "CURATE_REPO_ROOT" in proc.stderr


def test_pipeline_new_writes_the_shipped_template(wheel_venv: Path, tmp_path: Path) -> None:
    """`curate pipeline new` reads its package template from the wheel, not the checkout."""
    proc = _curate(wheel_venv, ["pipeline", "new", "wheel-pipe"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    code = (tmp_path / "wheel-pipe" / "src" / "wheel_pipe" / "pipeline.py").read_text()
    assert '@register_pipeline("wheel-pipe"' in code


def test_hello_world_runs_from_the_wheel(wheel_venv: Path, tmp_path: Path) -> None:
    save_tiny_gpt2(tmp_path / "weights" / "openai-community" / "gpt2")
    # --metrics-port 0: a free port, since another test lane may hold the default 9002
    args = ["pipeline", "run", "hello-world", "--max-new-tokens", "3", "--metrics-port", "0"]
    proc = _curate(
        wheel_venv, args, tmp_path,
        CURATE_WEIGHTS_DIR=str(tmp_path / "weights"), CURATE_RUNS_DIR=str(tmp_path / "runs"),
        HF_HUB_OFFLINE="1", RAY_AUTH_MODE="disabled",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "once upon a time" in proc.stdout + proc.stderr
