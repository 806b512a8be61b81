"""image-annotate -> image-dedup -> image-shard on the session's Ray, as a user chains them.

Inputs (no downloads; scikit-image is not installed here, so every picture is drawn with
Pillow): distinct scenes of shapes on gradients in JPEG, PNG and WebP at 64..128 px, two
byte-identical copies of two of them (planted exact duplicates, under other names and
folders), two near duplicates (a scene re-saved with 1-level brightness noise), and two bad
files (zero bytes, text under an image name). Models: the video tests' tiny random CLIP and
aesthetic head (seeded). The image-shard run goes through the CLI's entry point in process.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image, ImageDraw
from tests.pipelines.image import _images
from tests.pipelines.video import _synth
from tests.support import curate_in_process

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.models.aesthetics import AESTHETIC_MODEL_ID
from cosmos_curate.models.clip import CLIP_MODEL_ID
from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.image.dedup import ImageDedupOptions, dedup_images
from cosmos_curate.pipelines.image.pipeline import annotate_images
from cosmos_curate.pipelines.video.sources import video_id_for

pytestmark = pytest.mark.integration

EPS = 0.0005
DISTINCT = [
    ("scenes/s00.jpg", 128, 96), ("scenes/s01.png", 96, 128), ("scenes/s02.webp", 64, 64),
    ("scenes/s03.jpg", 128, 64), ("scenes/s04.png", 80, 80), ("scenes/s05.webp", 112, 72),
    ("more/s06.jpg", 72, 112), ("more/s07.png", 128, 128), ("more/s08.jpg", 64, 96),
    ("more/s09.webp", 100, 75), ("more/s10.png", 90, 120), ("more/s11.jpg", 120, 90),
]  # fmt: skip
EXACT = {"copies/s00-copy.jpg": "scenes/s00.jpg", "copies/deeper/s07.png": "more/s07.png"}
NEAR = {"near/s03-noisy.png": "scenes/s03.jpg", "near/s08-noisy.png": "more/s08.jpg"}
BAD = {"bad/empty.jpg": "empty file", "bad/notes.png": "not an image"}


def _scene(seed: int, width: int, height: int) -> Image.Image:
    """A picture with its own layout: shapes of random colours on a gradient."""
    rng = np.random.default_rng(seed)
    image = Image.fromarray(_images.picture(width, height, seed))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, x1 = sorted(int(v) for v in rng.integers(0, width, 2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, height, 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x1 + 4, y1 + 4), fill=colour)
    return image


def _noisy(source: Path) -> Image.Image:
    rgb = np.asarray(Image.open(source).convert("RGB"), dtype=np.int16)
    noise = np.random.default_rng(1).integers(-1, 2, rgb.shape)
    return Image.fromarray(np.clip(rgb + noise, 0, 255).astype(np.uint8))


def _inputs(folder: Path) -> Path:
    for seed, (name, width, height) in enumerate(DISTINCT):
        _images.save(folder / name, _scene(seed, width, height))
    for copy, original in EXACT.items():
        (folder / copy).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / original, folder / copy)
    for near, original in NEAR.items():
        _images.save(folder / near, _noisy(folder / original))
    _images.empty_file(folder / "bad/empty.jpg")
    _images.text_named_jpg(folder / "bad/notes.png")
    return folder


def _id(relative: str) -> str:
    return video_id_for(relative)


@pytest.fixture(scope="module")
def chain(ray_cluster: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The three runs over one input folder; their outputs and results."""
    import torch

    weights = tmp_path_factory.mktemp("weights")
    root = tmp_path_factory.mktemp("chain")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CURATE_WEIGHTS_DIR", str(weights))
        mp.setenv("CURATE_RUNS_DIR", str(root / "runs"))
        torch.manual_seed(0)
        _synth.save_tiny_clip(CLIP_MODEL_ID)
        _synth.save_tiny_aesthetic_head(AESTHETIC_MODEL_ID)
        inputs = _inputs(root / "in")
        annotated, dedup, shards = root / "annotated", root / "dedup", root / "shards"
        entry = registry.get_pipeline("image-annotate")
        options = registry.parse_options(
            entry,
            {"input_path": str(inputs), "output_path": str(annotated), "skip_captions": True,
             "workers_per_stage": 1},
        )  # fmt: skip
        annotate = annotate_images(options, RunOptions(metrics_port=None, check_weights=False))
        dedup_result = dedup_images(
            ImageDedupOptions(
                input_path=str(annotated), output_path=str(dedup), eps=[EPS, 0.3],
                n_clusters=2, n_examples=5, workers_per_stage=1,
            ),
            RunOptions(metrics_port=None),
        )  # fmt: skip
        cli = curate_in_process(
            "pipeline", "run", "image-shard", "--input-path", str(annotated),
            "--output-path", str(shards), "--dedup-path", str(dedup), "--eps", str(EPS),
            "--target-tar-size-mb", "0.02", "--no-progress", "--workers-per-stage", "1",
        )  # fmt: skip
    return {
        "inputs": inputs, "annotated": annotated, "dedup": dedup, "shards": shards,
        "annotate": annotate, "dedup_result": dedup_result, "cli": cli,
    }  # fmt: skip


def _ids(folder: Path) -> list[str]:
    tables = [pq.read_table(p) for p in sorted(folder.glob("*.parquet"))]
    return [i for table in tables for i in table.column("id").to_pylist()]


def test_bad_files_are_failure_records_of_image_annotate(chain: Any) -> None:
    """The two bad files: one failure record each, with the reason; nothing of them is kept."""
    result = chain["annotate"]
    assert result.num_failures == len(BAD)
    records = [json.loads(line) for line in Path(result.failures_path).read_text().splitlines()]
    by_file = {name: r for name in BAD for r in records if name in r["error"]}
    assert set(by_file) == set(BAD)
    for name, reason in BAD.items():
        assert reason in by_file[name]["error"]
        assert not (chain["annotated"] / "metas" / f"{_id(name)}.json").exists()


def test_exact_copies_are_removed_without_embeddings_and_name_their_original(chain: Any) -> None:
    """Each byte-identical copy is in the exact table once, with its twin; nothing else is."""
    table = pq.read_table(chain["dedup"] / "extraction" / "exact_duplicates.parquet").to_pylist()
    pairs = {frozenset((r["id"], r["duplicate_of"])) for r in table}
    assert pairs == {frozenset((_id(c), _id(o))) for c, o in EXACT.items()}
    summary = json.loads((chain["dedup"] / "summary.json").read_text())
    assert summary["exact_duplicates_removed"] == len(EXACT)
    assert summary["images_found"] == len(DISTINCT) + len(EXACT) + len(NEAR)
    assert chain["dedup_result"].num_failures == 0


def test_near_duplicates_are_removed_at_the_small_eps_and_distinct_images_are_not(
    chain: Any,
) -> None:
    """At the small eps exactly one of each near pair goes; a larger eps removes at least as many.

    The video-dedup layout: pruning tables, pruned ids per eps, counts CSV, examples, centroids.
    """
    dedup = chain["dedup"]
    removed = set(_ids(dedup / "extraction" / f"pruned_eps_{EPS:g}"))
    assert len(removed) == len(NEAR)
    for near, original in NEAR.items():
        assert len(removed & {_id(near), _id(original)}) == 1
    assert set(_ids(dedup / "extraction" / "pruned_eps_0.3")) >= removed
    unique = len(DISTINCT) + len(NEAR)  # the semantic step reads each exact group once
    everyone = {_id(n) for n, *_ in DISTINCT} | {_id(n) for n in (*EXACT, *NEAR)}
    exact = set(_ids(dedup / "extraction"))
    assert sorted(_ids(dedup / "extraction" / "semdedup_pruning_tables")) == sorted(
        everyone - exact
    )
    csv = (dedup / "extraction" / f"dedup_summary_{EPS:g}.csv").read_text().splitlines()
    assert csv[1] == f"{EPS:g},{unique - len(NEAR)},{len(NEAR)},{unique}"
    examples = json.loads((dedup / "extraction" / f"examples_eps_{EPS:g}.json").read_text())
    assert len(examples["nearest_the_threshold"]) == len(NEAR)
    first = examples["most_similar"][0]
    assert Path(first["image"]).is_file() and Path(first["duplicate_of_image"]).is_file()
    assert (dedup / "clustering_results" / "kmeans_centroids.npy").is_file()
    assert not list(dedup.glob(".dedup-*"))


def test_every_kept_image_is_in_one_tar_readable_by_webdataset(chain: Any) -> None:
    """webdataset reads back each distinct image once (original bytes, metadata, embedding)."""
    import webdataset

    cli, shards, inputs = chain["cli"], chain["shards"], chain["inputs"]
    assert cli.returncode == 0, cli.stderr[-3000:]
    tars = sorted(shards.rglob("*.tar"))
    assert len(tars) > 1 and all(t.relative_to(shards).parts[0] != "other" for t in tars)
    seen: dict[str, dict[str, Any]] = {}
    bucket: dict[str, str] = {}
    for tar in tars:
        for sample in webdataset.WebDataset(str(tar), shardshuffle=False):
            assert sample["__key__"] not in seen
            seen[sample["__key__"]] = sample
            bucket[sample["__key__"]] = "/".join(tar.relative_to(shards).parts[:2])
    extraction = chain["dedup"] / "extraction"
    dedup_removed = set(_ids(extraction)) | set(_ids(extraction / f"pruned_eps_{EPS:g}"))
    all_ids = {_id(n) for n, *_ in DISTINCT} | {_id(n) for n in (*EXACT, *NEAR)}
    assert set(seen) == all_ids - dedup_removed
    assert len(seen) == len(DISTINCT)
    for key, sample in seen.items():
        meta = json.loads(sample["json"])
        assert meta["image_id"] == key
        image_key = Path(meta["image_path"]).suffix.lstrip(".").replace("jpeg", "jpg")
        assert sample[image_key] == (inputs / meta["relative_path"]).read_bytes()
        vector = np.load(io.BytesIO(sample["npy"]))
        assert vector.shape == (16,)
    # shorter side under 256: resolution 0; aspect ratio the nearest bucket
    assert bucket[_id("scenes/s01.png")] == "resolution_0/aspect_ratio_3_4"
    assert bucket[_id("scenes/s02.webp")] == bucket[_id("scenes/s04.png")]
    assert bucket[_id("scenes/s02.webp")] == "resolution_0/aspect_ratio_1_1"
    assert bucket[_id("more/s11.jpg")] == "resolution_0/aspect_ratio_4_3"
    index = json.loads((shards / "index.json").read_text())
    assert index["complete"] and index["images_not_written"] == 0
    assert index["images_removed_by_dedup"] == len(EXACT) + len(NEAR)
    assert (shards / "not_written.jsonl").read_text() == ""


def test_image_dedup_dry_run_lists_its_stages_and_images(chain: Any, tmp_path: Path) -> None:
    """`--dry-run` names the hash and SemDeDup stages and counts the kept images; writes nothing."""
    out = tmp_path / "never"
    result = curate_in_process(
        "pipeline", "run", "image-dedup", "--input-path", str(chain["annotated"]),
        "--output-path", str(out), "--dry-run",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for stage in ("HashImagesStage", "ReadEmbeddingsStage", "ClusterDedupStage"):
        assert stage in result.stdout
    assert str(len(DISTINCT) + len(EXACT) + len(NEAR)) in result.stdout
    assert not out.exists()
