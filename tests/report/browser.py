"""Load a page in real headless Chromium: the DOM after its scripts ran, and its console."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import attrs
import pytest

CONSOLE = re.compile(r":CONSOLE[:(\d)]*\] (.*)")
CHART = re.compile(r'<div class="chart[^"]*" id="(chart-[a-z]+-\d+)"')
DRAWN_LINE = re.compile(r'class="js-line"[^>]*d="M[\d.,-]+L[^"]+"')
CHECK_RESULT = re.compile(r'<pre id="check-result">(.*?)</pre>', re.DOTALL)
LEGEND_CHECK = """
function box(el) { const r = el.getBoundingClientRect();
  return {l: r.left, t: r.top, r: r.right, b: r.bottom}; }
function overlap(a, b) { return Math.min(a.r, b.r) - Math.max(a.l, b.l) > 0.5
  && Math.min(a.b, b.b) - Math.max(a.t, b.t) > 0.5; }
function legendsAt() {
  const charts = {};
  for (const div of document.querySelectorAll('.chart')) {
    const legend = div.querySelector('.legend');
    if (!legend) { charts[div.id] = {legend: false}; continue; }
    const own = box(legend), chart = box(div);
    const parts = {'plot area': div.querySelectorAll('.nsewdrag'),
                   'x-axis title': div.querySelectorAll('.g-xtitle text'),
                   'x tick labels': div.querySelectorAll('.xtick text')};
    const found = {}, hits = [];
    for (const [name, els] of Object.entries(parts)) {
      found[name] = els.length;
      if ([...els].some(el => overlap(own, box(el)))) hits.push(name);
    }
    const inside = own.l >= chart.l - 0.5 && own.r <= chart.r + 0.5 && own.t >= chart.t - 0.5;
    charts[div.id] = {legend: true, found: found, overlaps: hits, inside: inside};
  }
  return charts;
}
async function legendCheck(widths) {
  const result = {};
  for (const width of widths) {
    document.body.style.width = width + 'px';
    await Promise.all([...document.querySelectorAll('.chart')].map(d => Plotly.Plots.resize(d)));
    result[width] = legendsAt();
  }
  return result;
}
"""


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


def load(page: Path, profile: Path, timeout_s: float = 240, size: str | None = None) -> LoadedPage:
    """Open `page` headless, let its scripts run, and return the DOM and console lines."""
    return load_url(page.resolve().as_uri(), profile, timeout_s, size)


def load_url(
    url: str, profile: Path, timeout_s: float = 240, size: str | None = None
) -> LoadedPage:
    """Open `url` (a file or a local server's page) headless: its DOM and console lines.

    `size` ("WIDTH,HEIGHT") sets the window; Chromium's default otherwise.
    """
    window = [f"--window-size={size}"] if size else []
    result = subprocess.run(
        [
            chromium(), "--headless", "--no-sandbox", "--disable-gpu", *window,
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
            f"--user-data-dir={profile}", "--dump-dom", url,
        ],
        capture_output=True, text=True, timeout=timeout_s, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    console = [m.group(1) for m in CONSOLE.finditer(result.stderr)]
    return LoadedPage(result.stdout, console)


def checked(page: Path, script: str, call: str, profile: Path, size: str) -> Any:
    """Run `script` in a copy of `page` once its own scripts ran and the layout settled: the
    JSON value of the expression `call` (or of the promise it returns), which the copy
    writes into its DOM for --dump-dom."""
    probe = profile.parent / f"checked-{page.stem}.html"
    writer = (
        "window.addEventListener('load', () => setTimeout(async () => {"
        "const pre = document.createElement('pre'); pre.id = 'check-result';"
        f"pre.textContent = JSON.stringify(await ({call})); document.body.appendChild(pre);"
        "}, 2000));"
    )
    text = page.read_text(encoding="utf-8")
    probe.write_text(text.replace("</body>", f"<script>{script}\n{writer}</script></body>"))
    loaded = load(probe, profile, size=size)
    found = CHECK_RESULT.search(loaded.dom)
    assert found is not None, loaded.console or loaded.dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


def screenshot(page: Path, png: Path, profile: Path, size: str = "1400,2600") -> None:
    """A PNG of the page as Chromium draws it."""
    screenshot_url(page.resolve().as_uri(), png, profile, size)


def screenshot_url(url: str, png: Path, profile: Path, size: str = "1400,2600") -> None:
    """A PNG of `url` (a file or a local server's page) as Chromium draws it."""
    subprocess.run(
        [
            chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--window-size={size}", "--virtual-time-budget=10000",
            f"--user-data-dir={profile}", f"--screenshot={png}", url,
        ],
        capture_output=True, timeout=240, check=True,
    )  # fmt: skip
