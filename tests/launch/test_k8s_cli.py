"""`curate k8s render` as a user types it: bad input is one `error:` line, exit 2, no file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tests.support import CliResult, curate_in_process

HF_TOKEN_LITERAL = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345"
AWS_SECRET_LITERAL = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

# (options before `--`, command after it, words the one error line must contain)
BAD_INPUTS: list[tuple[list[str], list[str], list[str]]] = [
    (["-w", "name=gpu,foo=1"], ["curate"], ["--worker-group", "unknown key 'foo'", "keys:"]),
    (["-w", "replicas=-1"], ["curate"], ["replicas='-1'", ">= 0"]),
    (["-w", "gpus=1.5"], ["curate"], ["gpus='1.5'"]),
    (["-w", "memory=12XB"], ["curate"], ["memory='12XB'", "quantity"]),
    (["-w", "memory=512m"], ["curate"], ["thousandths of a byte"]),
    (["-w", "cpus=0"], ["curate"], ["cpus='0'", "positive"]),
    (["-w", "gpus"], ["curate"], ["key=value"]),
    (["-w", "gpus=1,gpus=2"], ["curate"], ["'gpus' given twice"]),
    (["-w", "name=a", "-w", "name=a"], ["curate"], ["name='a'", "more than one group"]),
    (["-w", "name=GPU_big"], ["curate"], ["name='GPU_big'"]),
    ([], [], ["no command", "--"]),
    (["--interactive"], ["curate", "pipeline", "list"], ["--interactive", "kubectl exec"]),
    (["--name", "Video_Split"], ["curate"], ["--name 'Video_Split'", "RayJob"]),
    (["--name", "a" * 48], ["curate"], ["1-47"]),
    (["--namespace", "Team A"], ["curate"], ["--namespace"]),
    (["--image", "bad image"], ["curate"], ["--image 'bad image'"]),
    (["--image", "ok:v1\nRUN x"], ["curate"], ["--image"]),
    (["--image-pull-policy", "Sometimes"], ["curate"], ["--image-pull-policy"]),
    (["--head-memory", "lots"], ["curate"], ["--head-memory='lots'"]),
    (["--head-cpus", "-2"], ["curate"], ["--head-cpus='-2'"]),
    (["--toleration", "gpu:Sometimes"], ["curate"], ["--toleration", "NoSchedule"]),
    (["--toleration", "bad key!"], ["curate"], ["--toleration", "label key"]),
    (["--node-selector", "gpu"], ["curate"], ["--node-selector 'gpu'", "KEY=VALUE"]),
    (["--weights-pvc", "w", "--weights-host-path", "/w"], ["curate"], ["not both"]),
    (["--weights-host-path", "models"], ["curate"], ["absolute path"]),
    (["--weights-pvc", "Weights_Claim"], ["curate"], ["--weights-pvc"]),
    (["--weights-read-only"], ["curate"], ["needs --weights-pvc or --weights-host-path"]),
    (["--hf-token-secret", HF_TOKEN_LITERAL], ["curate"], ["name of a Kubernetes Secret"]),
    (["--s3-secret", AWS_SECRET_LITERAL], ["curate"], ["name of a Kubernetes Secret"]),
    (["--s3-secret", "s3:key"], ["curate"], ["Secret name only"]),
    (["--ray-auth", "password"], ["curate"], ["--ray-auth"]),
    (["--ttl-after-finished", "-5"], ["curate"], ["--ttl-after-finished"]),
]


def invoke(*args: str) -> CliResult:
    """`curate k8s render ARGS` through the CLI's entry point (its error table included)."""
    return curate_in_process("k8s", "render", *args)


def one_error_line(result: CliResult) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("options", "command", "words"), BAD_INPUTS, ids=[" ".join(r[0])[:40] for r in BAD_INPUTS]
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    options: list[str], command: list[str], words: list[str], tmp_path: Path
) -> None:
    """Each bad option: exit 2, one `error:` line naming it, no YAML on stdout, no -o file,
    and a credential given where a Secret name belongs is never echoed back."""
    target = tmp_path / "job.yaml"
    result = invoke("-o", str(target), *options, "--", *command)
    line = one_error_line(result)
    for word in words:
        assert word in line, line
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []
    assert HF_TOKEN_LITERAL not in result.stderr
    assert AWS_SECRET_LITERAL not in result.stderr


def test_output_file_is_replaced_whole_and_kept_on_error(tmp_path: Path) -> None:
    """-o writes the same YAML as stdout, replacing an older file; a rejected render leaves
    the older file as it was and no temp file behind."""
    stdout = invoke("--", "curate", "pipeline", "list").stdout
    target = tmp_path / "job.yaml"
    target.write_text("old\n")
    result = invoke("-o", str(target), "--", "curate", "pipeline", "list")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert f"wrote RayJob curate to {target}" in result.stderr
    assert target.read_text() == stdout
    one_error_line(invoke("-o", str(target), "-w", "replicas=-1", "--", "curate"))
    assert target.read_text() == stdout
    assert [p.name for p in tmp_path.iterdir()] == ["job.yaml"]


def test_missing_output_folder_is_one_line(tmp_path: Path) -> None:
    """-o into a folder that does not exist: one line naming it, nothing created."""
    target = tmp_path / "nope" / "job.yaml"
    line = one_error_line(invoke("-o", str(target), "--", "curate"))
    assert str(tmp_path / "nope") in line
    assert not (tmp_path / "nope").exists()


def test_options_after_the_command_belong_to_the_command() -> None:
    """Without `--`, words after the first command word are the command's, as in `docker run`."""
    result = invoke("--name", "job", "curate", "pipeline", "run", "x", "--name", "y")
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load(result.stdout)
    assert manifest["metadata"]["name"] == "job"
    assert manifest["spec"]["entrypoint"] == "curate pipeline run x --name y"


def test_defaults_name_the_built_image_and_one_gpu_group() -> None:
    """No options: the image `curate image build` makes, one 1-GPU worker, token auth on."""
    manifest = yaml.safe_load(invoke("--", "curate", "pipeline", "list").stdout)
    cluster = manifest["spec"]["rayClusterSpec"]
    assert cluster["authOptions"] == {"mode": "token"}
    assert cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["image"] == (
        "cosmos-curate:latest"
    )
    (group,) = cluster["workerGroupSpecs"]
    assert (group["groupName"], group["replicas"], group["rayStartParams"]["num-gpus"]) == (
        "gpu",
        1,
        "1",
    )
    disabled = yaml.safe_load(invoke("--ray-auth", "disabled", "--", "curate").stdout)
    assert "authOptions" not in disabled["spec"]["rayClusterSpec"]


def test_curate_entry_point_renders_and_rejects(tmp_path: Path) -> None:
    """Through the installed `curate` entry point: the group is registered, YAML goes to
    stdout, and a bad option exits 2 with one line (not Typer's panel, not exit 1)."""
    cli = [sys.executable, "-m", "cosmos_curate.cli.main", "k8s", "render"]
    env = {**os.environ, "COLUMNS": "200"}
    ok = subprocess.run(
        [*cli, "-w", "name=gpu,replicas=2,gpus=8", "--", "curate", "pipeline", "list"],
        capture_output=True, text=True, env=env, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert yaml.safe_load(ok.stdout)["kind"] == "RayJob"
    bad = subprocess.run(
        [*cli, "-w", "memory=12XB", "--", "curate"],
        capture_output=True, text=True, env=env, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert bad.returncode == 2, bad.stderr
    errors = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "memory='12XB'" in errors[0]
    assert bad.stdout == ""
