"""`image-annotate` from a list file (`--input-list`) and webdataset tars; its parquet parts.

The list names good images (absolute, relative to the list, one without an extension),
a missing file and a file that is not an image; blank lines, comments and a repeat are
skipped. Models: the video tests' tiny random CLIP and aesthetic head, no captions.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image
from tests.pipelines.image import _images
from tests.pipelines.video import _synth
from tests.support import curate_in_process, one_error_line

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.models.aesthetics import AESTHETIC_MODEL_ID
from cosmos_curate.models.clip import CLIP_MODEL_ID
from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.image.layout import ImageLayout
from cosmos_curate.pipelines.image.pipeline import annotate_images
from cosmos_curate.pipelines.image.sources import (
    list_image_entries,
    list_images,
    read_image_list,
)
from cosmos_curate.pipelines.image.table import SCHEMA_VERSION, TABLE_DIR, read_parts, write_parts
from cosmos_curate.pipelines.image.tars import member_key


def _pic(path: Path, seed: int, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(_images.picture(24 + seed, 20, seed)).save(path, format=fmt)
    return path


def _list_inputs(root: Path) -> tuple[Path, set[str], set[str]]:
    """A list file and the entries that are good and bad, as written in it."""
    absolute = _pic(root / "elsewhere" / "far.png", 1)
    _pic(root / "lists" / "near" / "a.jpg", 2)
    _pic(root / "lists" / "noext", 3, fmt="PNG")
    _images.text_named_jpg(root / "lists" / "notes.jpg")
    good = {str(absolute), "near/a.jpg", "noext"}
    bad = {"gone.jpg", "notes.jpg"}
    listing = root / "lists" / "images.txt"
    listing.write_text(
        f"# photos for the run\n\n{absolute}\n  near/a.jpg  \nnoext\ngone.jpg\n"
        "notes.jpg\nnear/a.jpg\n# the end\n"
    )
    return listing, good, bad


def test_a_list_file_gives_its_entries_once_in_order(tmp_path: Path) -> None:
    """Blanks, comments and repeats are skipped; relative entries resolve beside the list."""
    listing, good, _ = _list_inputs(tmp_path)
    assert read_image_list(str(listing)) == [
        str(tmp_path / "elsewhere" / "far.png"), "near/a.jpg", "noext", "gone.jpg", "notes.jpg",
    ]  # fmt: skip
    sources = {s.relative_path: s for s in list_image_entries(str(listing))}
    assert sources["near/a.jpg"].url == str(tmp_path / "lists" / "near" / "a.jpg")
    assert sources["noext"].extension == "" and sources["near/a.jpg"].extension == ".jpg"
    assert len({s.image_id for s in sources.values()}) == len(sources)
    assert good <= set(sources)


def _run(raw: dict[str, Any]) -> dict[str, Any]:
    entry = registry.get_pipeline("image-annotate")
    options = registry.parse_options(entry, raw)
    annotate_images(options, RunOptions(metrics_port=None, check_weights=False))
    summary: dict[str, Any] = json.loads((Path(raw["output_path"]) / "summary.json").read_text())
    return summary


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny CLIP and aesthetic head."""
    folder = tmp_path_factory.mktemp("weights")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CURATE_WEIGHTS_DIR", str(folder))
        _synth.save_tiny_clip(CLIP_MODEL_ID)
        _synth.save_tiny_aesthetic_head(AESTHETIC_MODEL_ID)
    return folder


@pytest.mark.integration
def test_list_entries_are_annotated_and_bad_ones_are_failure_records(
    ray_cluster: dict[str, object], weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Good entries are written with a parquet row each; missing/bad ones are failure records."""
    monkeypatch.setenv("CURATE_WEIGHTS_DIR", str(weights))
    listing, good, bad = _list_inputs(tmp_path / "in")
    out = tmp_path / "out"
    summary = _run(
        {"input_list": str(listing), "output_path": str(out), "skip_captions": True,
         "workers_per_stage": 1},
    )  # fmt: skip
    assert summary["num_images_found"] == len(good) + len(bad)
    assert summary["num_images_passed"] == len(good)
    errors = {r["source"]: r["error"] for r in summary["failure_records"]}
    assert len(errors) == summary["failures"] == len(bad)
    missing = str(tmp_path / "in" / "lists" / "gone.jpg")
    assert "No such file" in errors[missing] or missing in errors[missing]
    assert "not an image" in errors[str(tmp_path / "in" / "lists" / "notes.jpg")]

    metas = {
        r["relative_path"]: r
        for r in (json.loads(p.read_text()) for p in (out / "metas").glob("*.json"))
    }
    assert set(metas) == good
    assert metas["noext"]["image_path"].endswith(".png")
    assert (out / metas["noext"]["image_path"]).read_bytes() == (
        tmp_path / "in" / "lists" / "noext"
    ).read_bytes()

    parts = sorted((out / TABLE_DIR).glob("*.parquet"))
    assert [p.name for p in parts] == [f"part-{summary['run_id']}-00000.parquet"]
    assert summary["parquet_parts"] == [f"{TABLE_DIR}/{parts[0].name}"]
    table = pq.read_table(parts[0])
    assert table.schema.metadata[b"cosmos_curate.schema"].decode() == SCHEMA_VERSION
    rows = {r["image_id"]: r for r in table.to_pylist()}
    assert set(rows) == {m["image_id"] for m in metas.values()}
    for meta in metas.values():
        row = rows[meta["image_id"]]
        assert row["image_path"] == meta["image_path"] and row["source"] == meta["source"]
        assert (row["width"], row["height"]) == (meta["width"], meta["height"])
        assert row["aesthetic_score"] == pytest.approx(meta["scores"]["aesthetic"])
        assert row["caption"] is None
        np.testing.assert_allclose(row["embedding"], np.load(out / meta["embedding_path"]))

    # A rerun writes nothing new: every kept image is in a part already.
    again = _run(
        {"input_list": str(listing), "output_path": str(out), "skip_captions": True,
         "no_embeddings": True},
    )  # fmt: skip
    assert again["num_images_skipped_already_done"] == len(good)
    assert again["parquet_parts"] == []


def test_kept_images_missing_from_every_part_are_written_on_the_next_run(tmp_path: Path) -> None:
    """An interrupted run's images (metas written, no part) land in exactly one later part."""
    layout = ImageLayout(str(tmp_path))
    for i in range(3):
        layout.write_json(
            layout.image_meta(f"img{i}"),
            {"image_path": f"images/img{i}.png", "source": f"/x/{i}.png", "width": 2,
             "height": 3, "scores": {"aesthetic": float(i)}, "caption": f"c{i}"},
        )  # fmt: skip
    assert write_parts(layout, ["img0"], "run1") == [f"{TABLE_DIR}/part-run1-00000.parquet"]
    written = write_parts(layout, ["img0", "img1", "img2", "filtered"], "run2", part_rows=1)
    assert written == [
        f"{TABLE_DIR}/part-run2-00000.parquet",
        f"{TABLE_DIR}/part-run2-00001.parquet",
    ]
    table = read_parts(layout)
    assert sorted(table.column("image_id").to_pylist()) == ["img0", "img1", "img2"]
    assert table.to_pylist()[0]["aesthetic_score"] == 0.0


@pytest.mark.integration
def test_the_cli_runs_a_list_file_and_exits_3_for_its_bad_entries(
    ray_cluster: dict[str, object], weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--input-list` through `curate`: bad entries give exit 3 and the records path."""
    monkeypatch.setenv("CURATE_WEIGHTS_DIR", str(weights))
    monkeypatch.setenv("CURATE_RUNS_DIR", str(tmp_path / "runs"))
    listing, good, _ = _list_inputs(tmp_path / "in")
    out = tmp_path / "out"
    result = curate_in_process(
        "pipeline", "run", "image-annotate", "--input-list", str(listing),
        "--output-path", str(out), "--skip-captions", "--no-embeddings", "--no-progress",
        "--workers-per-stage", "1",
    )  # fmt: skip
    assert result.returncode == 3, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failures_path"] in result.stdout + result.stderr
    assert summary["num_images_passed"] == len(good)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give one of --input-path"),
        (["--input-path", "{tmp}/in"], "give one of --input-path"),
        (["--input-list", "{tmp}/none.txt"], "--input-list {tmp}/none.txt: no such file"),
    ],
)
def test_bad_list_options_are_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    """No input, both inputs, or a missing list file: exit 2, nothing created."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    (tmp_path / "in").mkdir()
    listing = tmp_path / "list.txt"
    listing.write_text("a.jpg\n")
    given = [a.format(tmp=tmp_path) for a in args]
    if not given or given[0] == "--input-path":
        given = [*given, "--input-list", str(listing)] if given else given
    result = curate_in_process(
        "pipeline", "run", "image-annotate", *given, "--output-path", str(tmp_path / "new")
    )
    assert message.format(tmp=tmp_path) in one_error_line(result, code=2)
    assert not (tmp_path / "new").exists()


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    """A webdataset-style tar holding `members` (name -> bytes), in that order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _png_bytes(seed: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(_images.picture(20 + seed, 16, seed)).save(out, format="PNG")
    return out.getvalue()


def _tar_inputs(root: Path) -> dict[str, bytes]:
    """Two tars with a member of the same name, a loose image and a tar that is not one."""
    images = {
        "shard-0.tar/000001.png": _png_bytes(1),
        "shard-0.tar/sub/000002.png": _png_bytes(2),
        "more/shard-1.tar/000001.png": _png_bytes(3),
        "loose.png": _png_bytes(4),
    }
    _tar(root / "shard-0.tar", {
        "000001.png": images["shard-0.tar/000001.png"], "000001.json": b"{}",
        "sub/000002.png": images["shard-0.tar/sub/000002.png"], "000002.txt": b"a cat",
    })  # fmt: skip
    _tar(root / "more" / "shard-1.tar", {"000001.png": images["more/shard-1.tar/000001.png"]})
    (root / "loose.png").write_bytes(images["loose.png"])
    (root / "broken.tar").write_bytes(b"this is not a tar archive" * 40)
    return images


def test_tar_members_are_listed_with_ids_from_their_keys(tmp_path: Path) -> None:
    """Image members only, ids `<key>-<hash>` told apart by tar; a bad tar is one source."""
    images = _tar_inputs(tmp_path)
    sources = {s.relative_path: s for s in list_images(str(tmp_path))}
    assert set(sources) == {*images, "broken.tar/"}
    assert sources["broken.tar/"].member is not None and sources["broken.tar/"].member.error
    first, other = sources["shard-0.tar/000001.png"], sources["more/shard-1.tar/000001.png"]
    assert first.image_id.startswith("000001-") and other.image_id.startswith("000001-")
    assert first.image_id != other.image_id
    assert member_key("sub/000002.seg.png") == "sub/000002"


@pytest.mark.integration
def test_tar_members_are_annotated_as_images(
    ray_cluster: dict[str, object], tmp_path: Path
) -> None:
    """Each image member is written with its bytes; the unreadable tar is a failure record."""
    images = _tar_inputs(tmp_path / "in")
    out = tmp_path / "out"
    summary = _run(
        {"input_path": str(tmp_path / "in"), "output_path": str(out), "skip_captions": True,
         "no_embeddings": True, "workers_per_stage": 1},
    )  # fmt: skip
    metas = {
        r["relative_path"]: r
        for r in (json.loads(p.read_text()) for p in (out / "metas").glob("*.json"))
    }
    assert set(metas) == set(images)
    for name, data in images.items():
        assert (out / metas[name]["image_path"]).read_bytes() == data, name
    assert summary["failures"] == 1
    assert "unreadable tar" in summary["failure_records"][0]["error"]
    rows = pq.read_table(out / summary["parquet_parts"][0]).to_pylist()
    assert sorted(r["image_id"] for r in rows) == sorted(m["image_id"] for m in metas.values())
