"""`curate image ...` through the real entry point: output streams, exit codes, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from cosmos_curate.cli.main import main
from cosmos_curate.image import plan_image

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `curate ARGS` in-process; return exit code, stdout, stderr."""
    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def no_daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point DOCKER_HOST at a socket nothing listens on (never the machine's daemon)."""
    host = f"unix://{tmp_path}/no-daemon.sock"
    monkeypatch.setenv("DOCKER_HOST", host)
    monkeypatch.setenv("CURATE_REPO_ROOT", str(REPO_ROOT))
    monkeypatch.delenv("CURATE_DEBUG", raising=False)
    return host


def test_dry_run_prints_exactly_the_rendered_dockerfile(capsys: pytest.CaptureFixture[str]) -> None:
    """--dry-run writes the Dockerfile (only) to stdout and a summary to stderr; no daemon."""
    args = ["image", "build", "--envs", "video,transformers", "--dry-run"]
    code, out, err = run_cli(args, capsys)
    assert code == 0
    assert out == plan_image(["transformers", "video"], repo_root=REPO_ROOT).dockerfile
    assert err.startswith("envs: transformers, video, default; ")
    assert "filesystem layers" in err


def test_dry_run_buildkit_renders_cache_mounts(capsys: pytest.CaptureFixture[str]) -> None:
    """--dry-run --buildkit renders cache mounts for a BuildKit builder."""
    code, out, _ = run_cli(["image", "build", "--envs", "video", "--dry-run", "--buildkit"], capsys)
    assert code == 0
    assert "RUN --mount=type=cache,target=/root/.cache/pip" in out


def test_buildkit_without_dry_run_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """The SDK build uses the legacy builder, so --buildkit alone is a one-line error."""
    code, out, err = run_cli(["image", "build", "--buildkit"], capsys)
    assert code == 2 and out == ""  # rejected before anything started
    assert err.startswith("error: --buildkit only applies to --dry-run")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("envs", "expected"),
    [
        ("../x", "error: invalid env name '../x': use letters, digits, '-' and '_' only; "),
        ("default,/etc", "error: invalid env name '/etc': "),
        ("transformers,nope", "error: unknown env 'nope': no "),
    ],
)
def test_bad_env_names_are_one_line_errors(
    envs: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unknown or unsafe names exit 2 with one line that lists the known envs; no traceback."""
    code, out, err = run_cli(["image", "build", "--envs", envs], capsys)
    assert code == 2 and out == ""  # rejected before anything started
    assert err.startswith(expected)
    assert err.rstrip("\n").endswith("known envs: default, transformers, video")
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("args", [["image", "build", "--envs", "video"], ["image", "list"]])
def test_unreachable_daemon_is_one_line_saying_what_to_do(
    args: list[str], no_daemon: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a daemon: one line naming DOCKER_HOST's value, how to start one, exit 2."""
    code, out, err = run_cli(args, capsys)
    assert code == 2 and out == ""  # rejected before anything started
    assert err.startswith(f"error: no Docker daemon answers at {no_daemon} (DOCKER_HOST): ")
    assert "dockerd" in err and "set DOCKER_HOST" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_template_error_reaches_the_user_as_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken env snippet is reported with file and line, before any daemon contact."""
    root = tmp_path / "repo"
    (root / "envs" / "default").mkdir(parents=True)
    (root / "Dockerfile.j2").write_text((REPO_ROOT / "Dockerfile.j2").read_text())
    (root / "pyproject.toml").write_text((REPO_ROOT / "pyproject.toml").read_text())
    (root / "envs" / "default" / "build_steps.dockerfile.j2").write_text("RUN {{ oops }}\n")
    monkeypatch.setenv("CURATE_REPO_ROOT", str(root))
    code, _, err = run_cli(["image", "build"], capsys)
    assert code == 2
    expected = "error: envs/default/build_steps.dockerfile.j2 line 1: 'oops' is undefined"
    assert err.startswith(expected)
    assert err.count("\n") == 1
