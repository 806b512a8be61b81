"""`curate pipeline run image-annotate` end to end, as a user runs it (its own embedded Ray).

Inputs: a folder of images drawn with Pillow in every accepted format and awkward mode
(EXIF-rotated, CMYK, 16-bit, palette, RGBA, animated GIF, BMP, TIFF, WebP), two files of
the same name in different folders, one too elongated for the size filter, and four bad
files (zero bytes, text under .jpg, a truncated JPEG, a bomb-sized PNG header). Models: the
video tests' tiny random CLIP, aesthetic head and LLaVA VLM.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from tests.pipelines.image import _images
from tests.pipelines.video import _annotation_fakes as fakes
from tests.pipelines.video import _synth
from tests.support import curate, curate_in_process, one_error_line

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.models.aesthetics import AESTHETIC_MODEL_ID
from cosmos_curate.models.clip import CLIP_MODEL_ID
from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.image.pipeline import annotate_images

pytestmark = pytest.mark.integration

GOOD = {
    "a/photo.jpg", "b/photo.jpg", "rotated.jpg", "print/cmyk.jpeg", "scan16.png",
    "palette.png", "logo.png", "anim.gif", "old.bmp", "deep/er/scan.tiff", "web.webp",
}  # fmt: skip
THIN = "banner.png"
BAD = {
    "empty.jpg": "empty file",
    "notes.jpg": "not an image",
    "cut.jpg": "truncated",
    "bomb.png": "decompression bomb",
}


def _inputs(folder: Path) -> Path:
    def pic(name: str, width: int, height: int, seed: int) -> None:
        _images.save(folder / name, Image.fromarray(_images.picture(width, height, seed)))

    pic("a/photo.jpg", 64, 48, 1)
    pic("b/photo.jpg", 48, 64, 2)
    _images.exif_rotated_jpeg(folder / "rotated.jpg")
    _images.cmyk_jpeg(folder / "print/cmyk.jpeg")
    _images.png16(folder / "scan16.png")
    _images.palette_png(folder / "palette.png")
    _images.rgba_png(folder / "logo.png")
    _images.animated_gif(folder / "anim.gif")
    pic("old.bmp", 40, 30, 8)
    pic("deep/er/scan.tiff", 30, 40, 9)
    pic("web.webp", 50, 50, 10)
    pic(THIN, 200, 20, 11)
    _images.empty_file(folder / "empty.jpg")
    _images.text_named_jpg(folder / "notes.jpg")
    _images.truncated_jpeg(folder / "cut.jpg")
    _images.bomb_png(folder / "bomb.png")
    (folder / "README.txt").write_text("not listed: not an image extension\n")
    return folder


RUN_ARGS = [
    "--min-side", "16", "--max-aspect-ratio", "4", "--aesthetic-threshold", "0",
    "--caption-model-id", _synth.TINY_VLM_ID, "--caption-max-tokens", "4",
    "--caption-prep-min-pixels", "256", "--caption-prep-max-pixels", "4096",
]  # fmt: skip
"""The module run's options (its Ray run adds `--workers-per-stage 1`)."""


def _curate(args: list[str], weights: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "RAY_AUTH_MODE": "disabled",
        "CURATE_WEIGHTS_DIR": str(weights),
    }
    env.pop("RAY_ADDRESS", None)
    base = ["pipeline", "run", "image-annotate", "--no-progress", "--num-cpus", "4"]
    # --metrics-port 0: a free port chosen by the run (other lanes may hold the default).
    return curate(*base, "--metrics-port", "0", *args, env=env, timeout=400)


def _run_on_session_cluster(**raw: Any) -> dict[str, Any]:
    """Parse `raw` as the CLI does (registry), run on the session's cluster, read the summary."""
    entry = registry.get_pipeline("image-annotate")
    options = registry.parse_options(entry, raw)
    annotate_images(options, RunOptions(metrics_port=None, check_weights=False))
    summary: dict[str, Any] = json.loads((Path(raw["output_path"]) / "summary.json").read_text())
    return summary


def _metas(folder: Path) -> dict[str, dict[str, Any]]:
    records = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    return {r["relative_path"]: r for r in records}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One full run: size filter, aesthetic scores, CLIP embeddings, tiny-VLM captions."""
    weights = tmp_path_factory.mktemp("weights")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CURATE_WEIGHTS_DIR", str(weights))
        _synth.save_tiny_clip(CLIP_MODEL_ID)
        _synth.save_tiny_aesthetic_head(AESTHETIC_MODEL_ID)
        _synth.save_tiny_vlm()
    inputs = _inputs(tmp_path_factory.mktemp("images"))
    out = tmp_path_factory.mktemp("run") / "out"
    args = ["--input-image-path", str(inputs), "--output-path", str(out), *RUN_ARGS]
    result = _curate([*args, "--workers-per-stage", "1"], weights)
    metas = {
        folder: _metas(out / folder) for folder in ("metas", "filtered_images")
    }  # as written, before a test reruns into `out`
    summary = json.loads((out / "summary.json").read_text())
    return {
        "result": result, "inputs": inputs, "out": out, "weights": weights, "metas": metas,
        "summary": summary,
    }  # fmt: skip


def test_bad_files_are_failure_records_and_the_run_exits_3(run: dict[str, Any]) -> None:
    """Four bad files: exit 3, the records path printed, one record per file with its reason."""
    result, out = run["result"], run["out"]
    assert result.returncode == 3, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failures"] == len(BAD)
    assert summary["failures_path"] in result.stdout + result.stderr
    records = [json.loads(line) for line in Path(summary["failures_path"]).read_text().splitlines()]
    errors = {Path(e["source"]).name: e["error"] for e in summary["failure_records"]}
    assert len(records) == len(BAD) and set(errors) == set(BAD)
    for name, reason in BAD.items():
        assert reason in errors[name], errors[name]


def test_kept_images_are_written_with_their_metadata(run: dict[str, Any]) -> None:
    """Every good image: original bytes, an embedding, a caption, scores and filter decisions."""
    inputs, out = run["inputs"], run["out"]
    metas = _metas(out / "metas")
    assert set(metas) == GOOD
    assert metas["a/photo.jpg"]["image_id"] != metas["b/photo.jpg"]["image_id"]
    for name, meta in metas.items():
        image_file = out / meta["image_path"]
        assert image_file.read_bytes() == (inputs / name).read_bytes(), name
        assert image_file.suffix == Path(name).suffix.lower()
        embedding = np.load(out / meta["embedding_path"])
        assert embedding.shape == (16,) and abs(float(np.linalg.norm(embedding)) - 1) < 1e-4
        assert meta["caption"] and meta["caption_model"] == _synth.TINY_VLM_ID
        assert meta["caption_prompt_variant"] == "default"
        assert isinstance(meta["scores"]["aesthetic"], float)
        assert meta["filters"]["size"]["passed"] is True
        assert meta["filters"]["aesthetic"] == {"passed": True, "threshold": 0.0}
    rotated = metas["rotated.jpg"]
    assert (rotated["width"], rotated["height"], rotated["exif_orientation"]) == (24, 40, 6)
    assert metas["print/cmyk.jpeg"]["source_mode"] == "CMYK"
    assert metas["scan16.png"]["source_mode"].startswith("I")
    assert metas["anim.gif"]["num_frames"] == 3


def test_rejected_images_are_kept_apart_with_the_reason(run: dict[str, Any]) -> None:
    """The 200x20 banner is in filtered_images/ with its bytes and why, not in images/."""
    inputs, out = run["inputs"], run["out"]
    filtered = _metas(out / "filtered_images")
    assert set(filtered) == {THIN}
    record = filtered[THIN]
    assert record["filtered_by"] == "size"
    assert "aspect ratio 10.00 > --max-aspect-ratio 4" in record["filter_reason"]
    assert record["filters"]["aesthetic"]["passed"] is None
    assert (out / record["image_path"]).read_bytes() == (inputs / THIN).read_bytes()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["num_images_passed"] == len(GOOD)
    assert summary["num_images_filtered"] == 1 and summary["images_filtered_by"] == {"size": 1}
    assert summary["num_images_with_caption"] == summary["num_images_with_embeddings"] == len(GOOD)


def test_in_process_run_writes_what_the_ray_run_wrote(run: dict[str, Any], tmp_path: Path) -> None:
    """--in-process (no Ray): exit 3 with the same failure records, the same kept and
    rejected images with the same metadata, captions and embeddings as the Ray run."""
    out = tmp_path / "out"
    args = ["--input-image-path", str(run["inputs"]), "--output-path", str(out), *RUN_ARGS]
    result = _curate([*args, "--in-process"], run["weights"])
    assert result.returncode == 3, result.stderr[-3000:]
    assert "ran:      in this process, without Ray" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["in_process"] is True and run["summary"]["in_process"] is False
    assert summary["failures_path"] in result.stdout + result.stderr
    errors = {Path(e["source"]).name: e["error"] for e in summary["failure_records"]}
    assert set(errors) == set(BAD)
    for name, reason in BAD.items():
        assert reason in errors[name], errors[name]
    for folder in ("metas", "filtered_images"):
        ours, on_ray = _metas(out / folder), run["metas"][folder]
        assert set(ours) == set(on_ray)
        for name, meta in ours.items():
            theirs = on_ray[name]
            score, their_score = meta["scores"]["aesthetic"], theirs["scores"]["aesthetic"]
            assert (score is None) == (their_score is None), name
            if score is not None:
                assert abs(score - their_score) < 1e-4, name
            same = {k: v for k, v in meta.items() if k != "scores"}
            assert same == {k: v for k, v in theirs.items() if k != "scores"}, name
            if meta["embedding_path"]:
                ours_emb = np.load(out / meta["embedding_path"])
                theirs_emb = np.load(run["out"] / theirs["embedding_path"])
                assert np.allclose(ours_emb, theirs_emb, atol=1e-5), name
            assert (out / meta["image_path"]).read_bytes() == (run["inputs"] / name).read_bytes()


def test_a_rerun_skips_images_already_written(
    ray_cluster: dict[str, object], run: dict[str, Any]
) -> None:
    """The same input again writes nothing new: written images are skipped, bad files retried."""
    out = run["out"]
    before = {p: p.stat().st_mtime_ns for p in (out / "metas").glob("*.json")}
    summary = _run_on_session_cluster(
        input_path=str(run["inputs"]),
        output_path=str(out),
        skip_captions=True,
        no_embeddings=True,
        min_side=16,
        max_aspect_ratio=4,
    )
    assert summary["num_images_skipped_already_done"] == len(GOOD) + 1
    assert summary["num_input_images"] == summary["failures"] == len(BAD)
    assert {p: p.stat().st_mtime_ns for p in (out / "metas").glob("*.json")} == before


def test_limit_counts_listed_images(ray_cluster: dict[str, object], tmp_path: Path) -> None:
    """--limit 2 over a folder of three: the first two in listing order are written."""
    inputs = tmp_path / "in"
    for i in range(3):
        _images.save(inputs / f"p{i}.png", Image.fromarray(_images.picture(20, 20, i)))
    out = tmp_path / "out"
    summary = _run_on_session_cluster(
        input_path=str(inputs),
        output_path=str(out),
        limit=2,
        skip_captions=True,
        no_embeddings=True,
    )
    assert summary["num_images_passed"] == 2
    assert sorted(p.name.split("-")[0] for p in (out / "images").iterdir()) == ["p0", "p1"]


def test_served_model_captions_each_image_once(
    ray_cluster: dict[str, object], tmp_path: Path
) -> None:
    """--captioning-algorithm openai: one request per image, one JPEG each, the caption kept."""
    inputs = tmp_path / "in"
    _images.exif_rotated_jpeg(inputs / "r.jpg")
    _images.rgba_png(inputs / "sub/logo.png")
    server = fakes.FakeOpenAIServer().start()
    try:
        summary = _run_on_session_cluster(
            input_path=str(inputs),
            output_path=str(tmp_path / "out"),
            no_embeddings=True,
            captioning_algorithm="openai",
            openai_base_url=server.url,
            caption_prompt_variant="short",
        )
    finally:
        server.stop()
    assert summary["num_images_with_caption"] == 2
    assert len(server.requests) == 2
    for meta in _metas(tmp_path / "out" / "metas").values():
        assert meta["caption"] == f"{fakes.SERVED_MODEL} saw 1 frames"
        assert meta["caption_model"] == fakes.SERVED_MODEL
        assert meta["caption_prompt"] == "Describe this image in one sentence."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input-path", "{tmp}/missing"], "no such folder"),
        (["--input-path", "{tmp}", "--output-path", "{tmp}/out"], "must not be inside"),
        (["--caption-prompt-variant", "poetic"], "unknown prompt variant 'poetic'"),
        (["--captioning-algorithm", "openai"], "needs --openai-base-url"),
    ],
)
def test_bad_options_are_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    """Bad options stop `curate pipeline run image-annotate` before anything starts (exit 2)."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    (tmp_path / "in").mkdir()
    flags = {"--input-path": str(tmp_path / "in"), "--output-path": str(tmp_path / "new")}
    given = [a.format(tmp=tmp_path) for a in args]
    for flag, value in zip(given[::2], given[1::2], strict=True):
        flags[flag] = value
    result = curate_in_process(
        "pipeline", "run", "image-annotate", *(x for kv in flags.items() for x in kv)
    )
    assert message in one_error_line(result, code=2)
    assert not (tmp_path / "new").exists() and not (tmp_path / "out").exists()
