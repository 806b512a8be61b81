"""`curate slurm` without a Slurm: the script `--dry-run` prints, and bad input rejected early.

Rejections run in process through the CLI's entry point (same code, same line); the dry run,
a missing and a refusing sbatch run as real processes.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from tests.support import CliResult, curate_in_process
from tests.support import curate as curate_process

REPO_ROOT = Path(__file__).resolve().parents[2]


def curate(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`curate ARGS` as a process with a private runs folder."""
    environ = {**os.environ, "CURATE_RUNS_DIR": str(tmp_path / "runs"), **env}
    return curate_process(*args, env=environ, cwd=tmp_path, timeout=120)


def curate_here(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliResult:
    """`curate ARGS` in this process, in `tmp_path` with a private runs folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CURATE_RUNS_DIR", str(tmp_path / "runs"))
    return curate_in_process(*args)


def test_dry_run_prints_a_valid_script_and_submits_nothing(tmp_path: Path) -> None:
    """--dry-run: the sbatch script on stdout (bash parses it), no job folder, no sbatch."""
    args = [
        "slurm", "submit", "--dry-run", "--nodes", "3", "--gpus-per-node", "8", "-p", "batch",
        "-A", "proj", "--time", "4:00:00", "--requeue", "--checkpoint-dir", "ckpt",
        "--join-timeout", "1234",
        "--sbatch-line=--mem=0", "--ray-arg=--object-store-memory=1000000000", "--",
        "curate", "pipeline", "run", "hello-world", "--prompts", "it's $HOME; rm -rf /",
    ]  # fmt: skip
    result = curate(args, tmp_path, RAY_AUTH_TOKEN="secret-token-value")
    assert result.returncode == 0, result.stderr
    script = result.stdout
    for line in ("#SBATCH --nodes=3", "#SBATCH --gpus-per-node=8", "#SBATCH --partition=batch",
                 "#SBATCH --account=proj", "#SBATCH --time=4:00:00", "#SBATCH --requeue",
                 "#SBATCH --mem=0", "#SBATCH --exclusive"):  # fmt: skip
        assert line + "\n" in script
    assert "secret-token-value" not in script and "ray stop" not in script.replace("never", "")
    assert "'it'\"'\"'s $HOME; rm -rf /'" in script  # shell-quoted, reaches the command as is
    assert f"--checkpoint-dir {tmp_path / 'ckpt'}" in script
    assert "--timeout 1234 " in script  # the driver step waits --join-timeout for the nodes
    checked = subprocess.run(
        ["bash", "-n"], input=script, text=True, capture_output=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--nodes", "0", "--", "true"], "--nodes 0"),
        (["--time", "soon", "--", "true"], "--time 'soon'"),
        (["--partition", "a;b", "--", "true"], "--partition 'a;b'"),
        (["--sbatch-line", "--mem=0\n#SBATCH --x", "--", "true"], "--sbatch-line"),
        (["--container-image", "img; rm", "--", "true"], "--container-image"),
        (["--checkpoint-dir", "c", "--", "python", "x.py"], "--checkpoint-dir"),
        (["--auth", "maybe", "--", "true"], "--auth 'maybe'"),
        (["--join-timeout", "0", "--", "true"], "--join-timeout 0"),
        ([], "no command given"),
    ],
)
def test_bad_submit_is_one_line_exit_2_and_nothing_written(
    args: list[str], needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bad options: exit 2, one `error:` line naming the option, no job folder."""
    result = curate_here(["slurm", "submit", *args], tmp_path, monkeypatch)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert needle in result.stderr
    assert not (tmp_path / "runs").exists()


def test_jobs_not_submitted_by_curate_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """status/logs/cancel of a job without a record: one line, exit 2."""
    for command in ("status", "logs", "cancel"):
        result = curate_here(["slurm", command, "12345"], tmp_path, monkeypatch)
        assert result.returncode == 2
        assert result.stderr.startswith("error: job 12345 was not submitted by `curate slurm")


def test_no_sbatch_is_one_line(tmp_path: Path) -> None:
    """Submitting where Slurm is not installed: one line, exit 2, the job folder removed."""
    result = curate(["slurm", "submit", "--", "true"], tmp_path, PATH=str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("error: sbatch is not installed here")
    assert not (tmp_path / "runs").exists(), "checked before any folder is made"


def test_rejected_submit_leaves_no_folder(tmp_path: Path) -> None:
    """sbatch refuses the job: its reason in one line, exit 2, no runs/slurm folder left."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sbatch = bin_dir / "sbatch"  # a Slurm that refuses every job, as a bad partition does
    sbatch.write_text(
        "#!/bin/sh\necho 'sbatch: error: Batch job submission failed: Invalid partition' >&2\n"
        "exit 1\n"
    )
    sbatch.chmod(0o755)
    result = curate(["slurm", "submit", "--", "true"], tmp_path, PATH=f"{bin_dir}:/usr/bin:/bin")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: sbatch rejected the job: Batch job submission failed: Invalid partition"
    )
    assert not (tmp_path / "runs").exists()


def test_job_folder_is_named_as_a_run_is(tmp_path: Path) -> None:
    """An accepted submit records the job in `runs/slurm/<time>-<name>-<id>/`, the id minted
    by `core.runs` as every run id is (one format, one place), with the script and record."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sbatch = bin_dir / "sbatch"  # a Slurm that accepts the job as job 4242
    sbatch.write_text("#!/bin/sh\necho 4242\n")
    sbatch.chmod(0o755)
    args = ["slurm", "submit", "--job-name", "nightly", "--", "true"]
    result = curate(args, tmp_path, PATH=f"{bin_dir}:/usr/bin:/bin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "4242"
    folders = list((tmp_path / "runs" / "slurm").iterdir())
    assert len(folders) == 1
    assert re.fullmatch(r"\d{8}-\d{6}-nightly-[0-9a-f]{6}", folders[0].name), folders[0].name
    assert {"sbatch.sh", "job.json"} <= {p.name for p in folders[0].iterdir()}
