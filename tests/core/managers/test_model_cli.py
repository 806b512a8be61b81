"""`python -m cosmos_curate.core.managers.model_cli`: upstream's download entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cosmos_curate.core.managers.model_cli", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_unknown_model_is_one_error_line_exit_2(isolated_dirs: Path) -> None:
    proc = _run("download", "--models", "no-such-model")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: unknown model 'no-such-model'")
    assert "gpt2" in lines[0]


def test_upload_names_the_replacement(isolated_dirs: Path) -> None:
    proc = _run("upload", "--models", "gpt2")
    assert proc.returncode == 2
    assert "curate model download" in proc.stderr
