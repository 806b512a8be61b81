"""Load a page in real headless Chromium: the DOM after its scripts ran, and its console."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import attrs
import pytest

CONSOLE = re.compile(r":CONSOLE[:(\d)]*\] (.*)")
CHART = re.compile(r'<div class="chart[^"]*" id="(chart-[a-z]+-\d+)"')
DRAWN_LINE = re.compile(r'class="js-line"[^>]*d="M[\d.,-]+L[^"]+"')


@attrs.frozen
class LoadedPage:
    """What the browser made of a page."""

    dom: str
    console: list[str]

    def charts(self) -> dict[str, str]:
        """Chart id -> the DOM of its div, for every chart on the page."""
        found = list(CHART.finditer(self.dom))
        ends = [m.start() for m in found[1:]] + [len(self.dom)]
        return {m.group(1): self.dom[m.start() : end] for m, end in zip(found, ends, strict=True)}

    def drawn_lines(self, chart_id: str) -> int:
        """Plotted lines with at least two data points in a chart (plotly's SVG paths)."""
        return len(DRAWN_LINE.findall(self.charts()[chart_id]))


def chromium() -> str:
    """The Chromium binary (installed by .ci/install_system_packages.sh)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is not installed: run .ci/install_system_packages.sh")
    return found


def load(page: Path, profile: Path, timeout_s: float = 240) -> LoadedPage:
    """Open `page` headless, let its scripts run, and return the DOM and console lines."""
    return load_url(page.resolve().as_uri(), profile, timeout_s)


def load_url(url: str, profile: Path, timeout_s: float = 240) -> LoadedPage:
    """Open `url` (a file or a local server's page) headless: its DOM and console lines."""
    result = subprocess.run(
        [
            chromium(), "--headless", "--no-sandbox", "--disable-gpu",
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
            f"--user-data-dir={profile}", "--dump-dom", url,
        ],
        capture_output=True, text=True, timeout=timeout_s, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    console = [m.group(1) for m in CONSOLE.finditer(result.stderr)]
    return LoadedPage(result.stdout, console)


def screenshot(page: Path, png: Path, profile: Path, size: str = "1400,2600") -> None:
    """A PNG of the page as Chromium draws it."""
    subprocess.run(
        [
            chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--window-size={size}", "--virtual-time-budget=10000",
            f"--user-data-dir={profile}", f"--screenshot={png}", page.resolve().as_uri(),
        ],
        capture_output=True, timeout=240, check=True,
    )  # fmt: skip
