"""The README's report screenshot names the command that makes it, from the tour's own run."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "report_screenshot.py"
IMAGE = "![A run's report.html, drawn by headless Chromium](docs/report-screenshot.png)"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("report_screenshot", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_says_under_the_picture_how_to_make_it() -> None:
    """The paragraph under the image gives the script's command, and the script runs the
    tour's hello-world line as written (read from the README, so the two cannot drift)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    under = readme.split(IMAGE, 1)[1].strip().split("\n\n", 1)[0]
    assert "`python scripts/report_screenshot.py`" in under, under
    command = _script().readme_command()
    assert command.startswith("curate pipeline run hello-world ")
    assert f"\n{command}" in readme  # a line of the README, as written


def test_the_picture_has_the_size_the_script_draws() -> None:
    """docs/report-screenshot.png was drawn by the script (its window size), not left over."""
    png = (ROOT / "docs" / "report-screenshot.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert f"{width},{height}" == _script().SIZE
