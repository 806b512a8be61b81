"""What many tests share: a free port, `curate` run as a process or in this process, and code
run in a fresh interpreter (`fresh_python`: what a new process imports, environment as a
worker starts with).

`curate(...)` is the user's shell: a real process, its own Ray, signals and exit status.
`curate_in_process(...)` calls the CLI's own entry point (`cosmos_curate.cli.main.run`): same
code, same lines, no interpreter start-up. For checks that stop before any work starts (one
`error:` line, an exit code), and for runs on the session's cluster (`ray_cluster` fixture:
the CLI joins the Ray this process is connected to). A run without that fixture would embed
a Ray in the test process: never do that.
"""

from __future__ import annotations

import contextlib
import io
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import attrs

CURATE = (sys.executable, "-m", "cosmos_curate.cli.main")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` (0.0.0.0: on every interface) that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def curate(
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `curate ARGS` as its own process; text output captured, any exit code returned.

    `env` replaces the environment (default: this one).
    """
    return _run([*CURATE, *args], env, timeout, cwd)


def fresh_python(
    code: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `python -c CODE ARGS` in a new interpreter (this one's); output captured, any exit
    code returned. `env` replaces the environment (default: this one)."""
    return _run([sys.executable, "-c", code, *args], env, timeout, cwd)


def _run(
    argv: list[str], env: Mapping[str, str] | None, timeout: float, cwd: Path | None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        env=None if env is None else dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@attrs.frozen
class CliResult:
    """What `curate_in_process` saw: the exit code and the two streams."""

    returncode: int
    stdout: str
    stderr: str


def curate_in_process(*args: str) -> CliResult:
    """Run `curate ARGS` through `cosmos_curate.cli.main.run` in this process.

    The environment is this process's (set it with `monkeypatch`).
    """
    from cosmos_curate.cli.main import run

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = run(list(args))
    return CliResult(code, stdout.getvalue(), stderr.getvalue())


def one_error_line(result: CliResult | subprocess.CompletedProcess[str], code: int) -> str:
    """The one `error:` line of a command that exited with `code`, no traceback on stderr."""
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]
