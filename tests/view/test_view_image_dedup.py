"""`curate view` over real image-dedup outputs: exact (SHA-256) groups, and beside SemDeDup.

image-annotate (no captions; the video tests' tiny random CLIP and aesthetic head, seeded)
reads five distinct pictures and three byte-identical copies (two of one picture, one of
another) under other names; image-dedup runs twice on the session's Ray: `--exact-only`,
and exact + semantic at eps 0.3. The viewer is a real process over HTTP.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from tests.pipelines.image import _images
from tests.pipelines.video import _synth
from tests.report.browser import load_url
from tests.view._output import Viewer, get, get_json

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.models.aesthetics import AESTHETIC_MODEL_ID
from cosmos_curate.models.clip import CLIP_MODEL_ID
from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.image.dedup import ImageDedupOptions, dedup_images
from cosmos_curate.pipelines.image.pipeline import annotate_images

pytestmark = pytest.mark.integration

DISTINCT = ["a.png", "b.png", "c.png", "d.png", "e.png"]
COPIES = {"copies/a1.png": "a.png", "copies/a2.png": "a.png", "more/c1.png": "c.png"}


@pytest.fixture(scope="module")
def outputs(
    ray_cluster: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, Path, Path]:
    """(inputs, annotated, exact-only dedup, exact + semantic dedup); runs beside them."""
    import torch

    root = tmp_path_factory.mktemp("view-image-dedup")
    inputs, annotated, dedup = root / "in", root / "annotated", root / "dedup"
    full = root / "dedup-full"
    for seed, name in enumerate(DISTINCT):
        _images.save(inputs / name, Image.fromarray(_images.picture(48 + 8 * seed, 40, seed)))
    for copy, original in COPIES.items():
        (inputs / copy).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(inputs / original, inputs / copy)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CURATE_RUNS_DIR", str(root / "runs"))
        mp.setenv("CURATE_WEIGHTS_DIR", str(root / "weights"))
        torch.manual_seed(0)
        _synth.save_tiny_clip(CLIP_MODEL_ID)
        _synth.save_tiny_aesthetic_head(AESTHETIC_MODEL_ID)
        entry = registry.get_pipeline("image-annotate")
        options = registry.parse_options(
            entry,
            {"input_path": str(inputs), "output_path": str(annotated), "skip_captions": True,
             "workers_per_stage": 1},
        )  # fmt: skip
        annotate_images(options, RunOptions(metrics_port=None, check_weights=False))
        dedup_images(
            ImageDedupOptions(input_path=str(annotated), output_path=str(dedup), exact_only=True,
                              workers_per_stage=1),
            RunOptions(metrics_port=None),
        )  # fmt: skip
        dedup_images(
            ImageDedupOptions(input_path=str(annotated), output_path=str(full), eps=[0.3],
                              n_clusters=1, workers_per_stage=1),
            RunOptions(metrics_port=None),
        )  # fmt: skip
    return inputs, annotated, dedup, full


@pytest.fixture(scope="module")
def viewer(outputs: tuple[Path, Path, Path, Path]) -> Iterator[Viewer]:
    served = Viewer.start(outputs[2], outputs[2].parent / "runs")  # the annotate output: recorded
    yield served
    served.stop()


@pytest.fixture(scope="module")
def full_viewer(outputs: tuple[Path, Path, Path, Path]) -> Iterator[Viewer]:
    served = Viewer.start(outputs[3], outputs[3].parent / "runs")
    yield served
    served.stop()


def _bytes_of(viewer: Viewer, item: dict[str, Any]) -> bytes:
    status, _, body = get(viewer.base() + str(item["media"]).lstrip("/"))
    assert status == 200, item
    return body


def test_exact_groups_are_shown_with_the_kept_image(
    viewer: Viewer, outputs: tuple[Path, Path, Path, Path]
) -> None:
    """The dedup view lists each removed copy beside the image it equals, with the SHA-256."""
    data = get_json(viewer.base() + "api/dedup")
    assert data["kind"] == "image-annotate" and data["eps"] is None  # --exact-only: no eps
    assert (data["exact_removed"], data["exact_groups"]) == (3, 2)
    pairs = data["exact"]
    assert isinstance(pairs, list) and len(pairs) == 3
    originals = {hashlib.sha256((outputs[0] / n).read_bytes()).hexdigest(): n for n in DISTINCT}
    shown = sorted(originals[p["sha256"]] for p in pairs)
    assert shown == ["a.png", "a.png", "c.png"]
    for pair in pairs:
        removed, kept = _bytes_of(viewer, pair["removed"]), _bytes_of(viewer, pair["duplicate_of"])
        assert removed == kept and hashlib.sha256(removed).hexdigest() == pair["sha256"]
        assert pair["removed"]["id"] != pair["duplicate_of"]["id"]
    assert len({p["duplicate_of"]["id"] for p in pairs}) == 2  # one kept image per group


def test_grid_still_lists_every_annotated_image_and_page_opens(viewer: Viewer) -> None:
    """The grid is the image-annotate output's (all eight images); `/dedup` is served."""
    items = get_json(viewer.base() + "api/items")
    assert items["kind"] == "image-annotate" and items["total"] == len(DISTINCT) + len(COPIES)
    assert items["views"] == {"dedup": True, "shards": False}
    status, _, body = get(viewer.base() + "dedup")
    assert status == 200 and b"view.js" in body
    status, _, script = get(viewer.base() + "static/view.js")
    assert status == 200 and b"Exact duplicates" in script


def test_exact_pairs_render_in_chromium(viewer: Viewer, tmp_path: Path) -> None:
    """In Chromium the dedup page shows each removed copy beside its kept image, and counts."""
    exact = get_json(viewer.base() + "api/dedup")["exact"]
    assert isinstance(exact, list)
    expected = {(p["removed"]["id"], p["duplicate_of"]["id"]) for p in exact}
    page = load_url(viewer.base() + "dedup", tmp_path / "profile")
    pairs = re.findall(r'class="pair" data-removed="([^"]+)" data-of="([^"]+)"', page.dom)
    assert set(pairs) == expected and len(pairs) == 3, page.dom[-3000:]
    assert "3 images removed in 2 groups of identical bytes" in page.dom
    assert 'id="exact-only"' in page.dom and "identical" in page.dom


def test_exact_groups_beside_the_semantic_view(full_viewer: Viewer, tmp_path: Path) -> None:
    """An exact + semantic run: the eps view covers the five unique images, and the same
    exact groups are listed beside it (removed at every eps); the page shows both."""
    data = get_json(full_viewer.base() + "api/dedup?eps=0.3")
    assert data["eps_values"] == [0.3] and data["total"] == len(DISTINCT)
    assert (data["exact_removed"], data["exact_groups"]) == (3, 2)
    exact = data["exact"]
    pairs = data["pairs"]
    assert isinstance(exact, list) and isinstance(pairs, list)
    semantic = {p["removed"]["id"] for p in pairs} | {p["duplicate_of"]["id"] for p in pairs}
    assert not semantic & {p["removed"]["id"] for p in exact}  # copies never reach SemDeDup
    page = load_url(full_viewer.base() + "dedup?eps=0.3", tmp_path / "profile")
    assert 'id="eps-slider"' in page.dom and "3 images removed in 2 groups" in page.dom
    assert f"of {len(DISTINCT)} embedded images" in page.dom, page.dom[-3000:]
