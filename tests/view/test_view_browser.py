"""`curate view` in real headless Chromium: the page's script renders the grid and a search."""

from __future__ import annotations

import re
from pathlib import Path

from tests.report.browser import load_url
from tests.view._output import Viewer, make_output


def test_grid_and_caption_search_render_in_chromium(tmp_path: Path) -> None:
    """The grid shows every kept clip with its caption; a search shows only the match."""
    runs = tmp_path / "runs"
    served = Viewer.start(make_output(tmp_path, runs), runs)
    try:
        grid = load_url(served.base(), tmp_path / "profile")
        cards = re.findall(r'class="card" data-id="([^"]+)"', grid.dom)
        assert sorted(cards) == [
            "city-0002_0000000_0000060",
            "kite-0001_0000000_0000060",
            "kite-0001_0000060_0000120",
        ], grid.dom[-3000:]
        assert "Night traffic on a wet city street." in grid.dom
        assert 'src="/files/previews/kite-0001_0000000_0000060/' in grid.dom
        found = load_url(served.base() + "?q=pebble", tmp_path / "profile")
        assert re.findall(r'class="card" data-id="([^"]+)"', found.dom) == [
            "kite-0001_0000060_0000120"
        ]
        assert "Waves break on a pebble beach." in found.dom and "1 matching" in found.dom
        assert 'value="pebble"' in found.dom  # the query stays in the page's search box
        dropped = load_url(served.base() + "dropped?reason=motion", tmp_path / "profile")
        assert "motion: motion_global_mean 0.0001 &lt; 0.00098" in dropped.dom
    finally:
        assert served.stop() == 130
