"""The design guide's walk-through runs as written, from an empty folder to a profiled plugin.

The commands are the ```bash block of the guide's walk-through section (read with the README
tour's `tour_commands`). They run in one bash, as a user types them in one terminal (its
`export` holds for the rest), with `set -e`, in a new empty folder. "The environment where
cosmos-curate is installed" is a venv made here that sees this project's packages (as in
tests/pipelines/test_plugins.py), with `curate` and `pip` on its PATH, so `pip install -e`
installs the generated package there and never into the project's own venv; pip runs offline
(the build uses the setuptools already installed). Each command must exit 0 and leave what
`CHECKS` says the guide promises; a command the guide gains without a check fails the test.

One embedded Ray run (the pipeline run); the dry run and the replay start no Ray.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.docs.test_readme_tour import tour_commands
from tests.pipelines.test_plugins import _venv_with_project_packages

pytestmark = pytest.mark.integration

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "PIPELINE_DESIGN_GUIDE.md"
HEADING = "## Walk-through: From an Empty Folder to a Profiled Plugin"
STAGES = ("CountWordsStage", "ShoutStage")
MARK = "::walk-through command "


def _run_folder(work: Path) -> Path:
    (run,) = [p for p in (work / "runs").iterdir() if p.is_dir() and "my-pipeline" in p.name]
    return run


def _export(work: Path, out: str, err: str) -> None:
    _run_folder(work)  # the run's folder is in the walk-through's folder, not the user's cache


def _new(work: Path, out: str, err: str) -> None:
    assert (work / "my-pipeline" / "pyproject.toml").is_file()
    assert (work / "my-pipeline" / "src" / "my_pipeline" / "pipeline.py").is_file()


def _install(work: Path, out: str, err: str) -> None:
    assert "Successfully installed my-pipeline-0.1.0" in out, out + err


def _dry_run(work: Path, out: str, err: str) -> None:
    assert "would run" in out and all(stage in out for stage in STAGES), out + err


def _run(work: Path, out: str, err: str) -> None:
    assert "THE QUICK BROWN FOX" in out and "JUMPS OVER THE LAZY DOG" in out, out
    assert "report:" in err and "log:" in err, err[-2000:]
    assert (_run_folder(work) / "stage_save" / "CountWordsStage" / "MANIFEST.txt").is_file()


def _replay(work: Path, out: str, err: str) -> None:
    # How many calls the two lines made depends on scheduling; each one must match.
    assert re.search(r"CountWordsStage: \d+ call\(s\) replayed; outputs equal the saved", out), (
        out + err
    )


def _profiles(work: Path, out: str, err: str) -> None:
    profiles = _run_folder(work) / "profiles"
    for stage in STAGES:  # every worker of both stages: its flame tree and its summary
        html = sorted((profiles / stage).glob("cpu-*.html"))
        assert html, f"no cpu profile for {stage}: {out}"
        for page in html:
            assert page.with_suffix(".json").is_file(), f"{page} has no summary"
            assert page.name in out


def _report(work: Path, out: str, err: str) -> None:
    report = _run_folder(work) / "report.html"
    assert str(report.relative_to(work)) in out
    html = report.read_text(encoding="utf-8")
    assert "Profiles" in html and all(stage in html for stage in STAGES)
    assert "000000.call.pkl" in out


Check = Callable[[Path, str, str], None]
# (start of the command as tour_commands gives it, with shlex quoting; what the guide says it
# leaves): every command needs exactly one.
CHECKS: tuple[tuple[str, Check], ...] = (
    ("export 'CURATE_RUNS_DIR=", _export),
    ("curate pipeline new my-pipeline", _new),
    ("pip install -e ./my-pipeline", _install),
    ("curate pipeline run my-pipeline --dry-run", _dry_run),
    ("curate pipeline run my-pipeline --stage-save", _run),
    ("curate stage replay last", _replay),
    ("ls 'runs/*/profiles", _profiles),
    ("ls 'runs/*/report.html", _report),
)


def _check_for(command: str) -> Check:
    found = [check for start, check in CHECKS if command.startswith(start)]
    assert len(found) == 1, f"walk-through command without one check (add it to CHECKS): {command}"
    return found[0]


def _environment(root: Path) -> dict[str, str]:
    """A shell where cosmos-curate is installed: a venv with `curate` and `pip` on PATH."""
    bin_dir = _venv_with_project_packages(root / "venv").parent
    for name, module in (("curate", "cosmos_curate.cli.main"), ("pip", "pip")):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nexec "{bin_dir / "python"}" -m {module} "$@"\n')
        script.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.update(VIRTUAL_ENV=str(root / "venv"), RAY_AUTH_MODE="disabled", COLUMNS="200")
    # pip offline: no index, and build with the setuptools installed (for pip, 0 here means
    # "no build isolation").
    env.update(PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1")
    for name in ("RAY_ADDRESS", "CURATE_RUNS_DIR", "CURATE_PIPELINE_MODULES", "PYTHONPATH"):
        env.pop(name, None)
    return env


def test_walkthrough_has_one_check_per_command() -> None:
    """The walk-through is one bash block; each of its commands has a check, none skipped."""
    commands = tour_commands(GUIDE.read_text(encoding="utf-8"), HEADING)
    assert len(commands) == len(CHECKS)
    for words, _, reason in commands:
        assert reason is None
        _check_for(words)


def test_walkthrough_runs_as_written(tmp_path: Path) -> None:
    """In a new empty folder, each command exits 0 and leaves what the guide says (checked
    once all have run: the one run folder is the run's)."""
    commands = tour_commands(GUIDE.read_text(encoding="utf-8"), HEADING)
    work = tmp_path / "walk"
    work.mkdir()
    script = ["set -e -o pipefail"]
    for index, (_, line, _) in enumerate(commands):
        script += [f"echo '{MARK}{index}'; echo '{MARK}{index}' >&2", line]
    proc = subprocess.run(
        ["bash", "-c", "\n".join(script)], cwd=work, env=_environment(tmp_path),
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    outs = re.split(rf"{MARK}\d+\n", proc.stdout)[1:]
    errs = re.split(rf"{MARK}\d+\n", proc.stderr)[1:]
    assert proc.returncode == 0, (
        f"{commands[len(errs) - 1][1]} (exit {proc.returncode})\n{errs[-1][-3000:]}"
    )
    assert len(outs) == len(errs) == len(commands)
    for (words, _, _), out, err in zip(commands, outs, errs, strict=True):
        _check_for(words)(work, out, err)
