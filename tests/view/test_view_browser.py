"""`curate view` in real headless Chromium: grid, search, a clip's player seeking, dedup pairs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.report.browser import load_url
from tests.report.devtools import DevToolsPipe
from tests.view._output import EMBEDDINGS, Viewer, dedup, make_output

KITE0, KITE60, CITY = EMBEDDINGS


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


def test_a_clip_loads_and_seeks_in_chromium(tmp_path: Path) -> None:
    """The clip page's <video> loads its mp4 and seeks to the URL's ?t= (reached: 'seeked').

    Waited for in real time: the seek ends when the browser has decoded that frame, which
    --dump-dom's virtual time does not wait for."""
    runs = tmp_path / "runs"
    served = Viewer.start(make_output(tmp_path, runs), runs)
    browser = DevToolsPipe(tmp_path / "p")
    try:
        browser.open(served.base() + "clip/kite-0001_0000000_0000060?t=2.5")
        done = "(v => v && (v.dataset.seeked || v.dataset.error) ? v.outerHTML : null)"
        player = browser.wait_for(f"{done}(document.getElementById('player'))")
        assert player.startswith("<video "), player
        assert 'data-duration="4"' in player, player  # the 4 s sample mp4
        assert 'data-seeked="2.5"' in player, player
        assert "data-error" not in player
    finally:
        browser.close()
        assert served.stop() == 130


@pytest.mark.integration
def test_dedup_pair_at_a_chosen_eps_in_chromium(
    ray_cluster: dict[str, object], tmp_path: Path
) -> None:
    """At eps 0.05 the page pairs kite-0 with kite-60; at 0.3 kite-60 with city too."""
    runs = tmp_path / "runs"
    deduped = dedup(tmp_path, make_output(tmp_path, runs))  # the page needs no shards
    served = Viewer.start(deduped, runs)
    try:
        pair = re.compile(r'class="pair" data-removed="([^"]+)" data-of="([^"]+)"')
        page = load_url(served.base() + "dedup?eps=0.05", tmp_path / "p")
        assert pair.findall(page.dom) == [(KITE0, KITE60)], page.dom[-3000:]
        assert "cosine 0.9701" in page.dom and "keeps 2, removes 1 of 3" in page.dom
        page = load_url(served.base() + "dedup?eps=0.3", tmp_path / "p")
        assert pair.findall(page.dom) == [(KITE0, KITE60), (KITE60, CITY)], page.dom[-3000:]
        assert 'id="eps-slider"' in page.dom and 'value="2"' in page.dom
    finally:
        assert served.stop() == 130
