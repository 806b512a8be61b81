"""Fast checks of the image pipeline's pieces: filter rules, caption sizing, ids, pickling."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.pipelines.image import _images

from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.image.captions import fit_pixels
from cosmos_curate.pipelines.image.filters import size_problem
from cosmos_curate.pipelines.image.pipeline import build_stages
from cosmos_curate.pipelines.image.sources import list_images
from cosmos_curate.pipelines.image.tasks import ImageTask


def test_size_rules() -> None:
    """The shorter side and the long/short ratio decide; the reason names the option."""
    assert size_problem(100, 50, 50, 2.0) is None
    assert size_problem(100, 49, 50, None) == "shorter side 49 px < --min-side 50"
    assert size_problem(300, 100, None, 2.5) == "aspect ratio 3.00 > --max-aspect-ratio 2.5"
    assert size_problem(1, 10_000, None, None) is None  # no rule, no rejection


@pytest.mark.parametrize(("size", "area"), [((1000, 500), 20_000), ((10, 10), 1_000)])
def test_fit_pixels_keeps_aspect_within_the_range(size: tuple[int, int], area: int) -> None:
    """Too large is scaled down to the max, too small up to the min, the aspect kept."""
    rgb = np.zeros((size[1], size[0], 3), np.uint8)
    out = fit_pixels(rgb, 1_000, 20_000)
    height, width = out.shape[:2]
    assert abs(width * height - area) / area < 0.05
    assert abs(width / height - size[0] / size[1]) < 0.05


def test_listing_is_recursive_and_keeps_same_names_apart(tmp_path: Path) -> None:
    """Nested files of every extension are listed in key order; same names get distinct ids."""
    for name in ("b/x.JPG", "a/x.jpg", "c/d/y.tif"):
        _images.save(tmp_path / name, Image.fromarray(_images.picture(8, 8)))
    (tmp_path / "z.txt").write_text("not an image")
    found = list(list_images(str(tmp_path)))
    assert [s.relative_path for s in found] == ["a/x.jpg", "b/x.JPG", "c/d/y.tif"]
    assert found[0].image_id != found[1].image_id
    assert found[1].extension == ".jpg"
    assert [s.image_id for s in list_images(str(tmp_path))] == [s.image_id for s in found]


def test_upstream_input_flag_name_and_stages_pickle(tmp_path: Path) -> None:
    """`input_image_path` (upstream's name) is accepted; every stage survives a pickle trip."""
    entry = registry.get_pipeline("image-annotate")
    options = registry.parse_options(
        entry,
        {
            "input_image_path": str(tmp_path),
            "output_path": str(tmp_path.parent / "out"),
            "min_side": 8,
            "aesthetic_threshold": 4.0,
        },
    )
    assert options.input_path == str(tmp_path)  # type: ignore[attr-defined]
    stages = build_stages(options)  # type: ignore[arg-type]
    names = [type(s.stage).__name__ for s in stages]  # type: ignore[union-attr]
    assert names == [
        "ImageLoadStage", "SizeFilterStage", "ImageClipPrepStage", "ClipEmbeddingStage",
        "ImageCaptionPrepStage", "CaptionStage", "ImageWriterStage",
    ]  # fmt: skip
    for spec in stages:
        assert type(pickle.loads(pickle.dumps(spec))) is type(spec)
    task = ImageTask(source="/x/a.png", image_id="a-1", relative_path="a.png", extension=".png")
    assert pickle.loads(pickle.dumps(task)) == task
    assert "source='/x/a.png'" in repr(task)  # failure records find the source here


def test_help_at_80_columns_groups_options_and_names_the_upstream_flag(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every option name (and --input-image-path) is whole at 80 columns, in titled panels."""
    from cosmos_curate.cli.main import run
    from cosmos_curate.pipelines.image.options import ImageAnnotateOptions

    monkeypatch.setenv("COLUMNS", "80")
    assert run(["pipeline", "run", "image-annotate", "--help"]) == 0
    text = capsys.readouterr().out
    names = ["--" + name.replace("_", "-") for name in ImageAnnotateOptions.model_fields]
    cut = [
        n for n in [*names, "--input-image-path"] if not re.search(re.escape(n) + r"(\s|,|$)", text)
    ]
    assert cut == []
    panels = [line.split("─ ")[1].split(" ─")[0] for line in text.splitlines() if "╭─ " in line]
    assert panels[1:] == [
        "Input and output", "Filters", "Semantic filter", "Image classifier", "Embeddings",
        "Captions", "Workers", "Run (how and where)",
    ]  # fmt: skip
