"""image-annotate vs a plain single-process loop: images/s and peak memory (#29, "Speed").

Both sides do the same work with the same tiny models (the tests' random CLIP, aesthetic
head and LLaVA VLM, `tests/pipelines/video/_synth.py`) on the same `--images` JPEGs:
read + decode (EXIF-oriented RGB), CLIP embedding + aesthetic score, a greedy caption of
`--caption-tokens` tokens, and one output per image (its bytes, a JSON record, the
embedding as .npy). Ours is `annotate_images(options, run_options)` on a local Ray of
`--cpus` CPUs; the peer is the loop a careful user writes: Pillow + transformers in one
process, `--peer-batch` images per forward pass for CLIP and the VLM, torch using every
core. The peer runs in a process of its own (its peak RSS is its own `ru_maxrss`); ours is
the peak summed over the driver and its Ray workers. `--rounds 2` runs ABBA.

    .venv/bin/python benchmarks/bench_image_annotate.py [--images 2000] [--cpus 2] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import queue
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT_DIR = os.path.dirname(BENCH_DIR)
sys.path[:0] = [BENCH_DIR, ROOT_DIR]

from bench_dedup import PeakRss  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

PROMPT = "describe this"
MIN_PIXELS, MAX_PIXELS = 256, 4096  # the caption preparation's area bounds, both sides


def make_images(folder: Path, n: int) -> None:
    """`n` JPEGs of 96..320 px a side (drawn, not noise: they compress like photos)."""
    from tests.pipelines.image import _images

    for i in range(n):
        width, height = 96 + (i * 37) % 225, 96 + (i * 53) % 225
        _images.save(
            folder / f"{i // 500:02d}" / f"img{i:05d}.jpg",
            Image.fromarray(_images.picture(width, height, i)),
            quality=90,
        )


def save_models(weights: Path) -> dict[str, str]:
    """The tests' tiny models under `weights`; their ids by role."""
    os.environ["CURATE_WEIGHTS_DIR"] = str(weights)
    from tests.pipelines.video import _synth

    from cosmos_curate.models.aesthetics import AESTHETIC_MODEL_ID
    from cosmos_curate.models.clip import CLIP_MODEL_ID

    _synth.save_tiny_clip(CLIP_MODEL_ID)
    _synth.save_tiny_aesthetic_head(AESTHETIC_MODEL_ID)
    _synth.save_tiny_vlm()
    return {"clip": CLIP_MODEL_ID, "aesthetic": AESTHETIC_MODEL_ID, "vlm": _synth.TINY_VLM_ID}


def run_ours(inputs: Path, out: Path, run_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """`annotate_images` on its own local Ray; wall, peak RSS and the stages' busy shares."""
    from tests.pipelines.video import _synth

    from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
    from cosmos_curate.core.runs import create_run
    from cosmos_curate.pipelines.image.pipeline import ImageAnnotateOptions, annotate_images
    from cosmos_curate.report.busy import phases
    from cosmos_curate.report.series import read_series

    options = ImageAnnotateOptions.model_validate(
        {
            "input_path": str(inputs),
            "output_path": str(out),
            "caption_model_id": _synth.TINY_VLM_ID,
            "caption_max_tokens": args.caption_tokens,
            "caption_prep_min_pixels": MIN_PIXELS,
            "caption_prep_max_pixels": MAX_PIXELS,
            "caption_prompt": PROMPT,
        },
    )
    with PeakRss() as peak:
        started = time.monotonic()
        # a run folder with its marker, as the CLI makes: the series then counts Ray's start
        run = create_run("image-annotate", root=run_dir)
        run_options = RunOptions(
            num_cpus=args.cpus, metrics_port=None, check_weights=False, run_dir=run.folder
        )
        annotate_images(options, run_options)
        wall = time.monotonic() - started
        run_dir = run.folder
    summary = json.loads((out / "summary.json").read_text())
    split = phases(read_series(run_dir))
    return {
        "wall_s": wall,
        "peak_rss": peak.peak,
        "images": summary["num_images_with_caption"],
        "pipeline_s": summary["wall_time_s"],
        "series_wall_s": split.wall_s,
        "setup_s": split.setup_s,
        "processing_s": split.processing_s,
        "stages": [(s.name, s.share, s.busy_s) for s in split.stages],
    }


def _fit(image: Any) -> Any:
    """The image scaled (aspect kept) so its area lies in [MIN_PIXELS, MAX_PIXELS]."""
    area = image.width * image.height
    if MIN_PIXELS <= area <= MAX_PIXELS:
        return image
    scale = math.sqrt((MAX_PIXELS if area > MAX_PIXELS else MIN_PIXELS) / area)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BICUBIC)


def peer(
    inputs: Path, out: Path, weights: Path, ids: dict[str, str], *, batch: int, tokens: int
) -> dict[str, Any]:
    """The plain loop: Pillow + transformers, batched, one process, all cores to torch."""
    started = time.monotonic()
    import numpy as np
    import torch
    from safetensors.torch import load_file
    from transformers import (
        AutoModelForImageTextToText,
        AutoProcessor,
        CLIPImageProcessor,
        CLIPModel,
    )

    torch.set_num_threads(os.cpu_count() or 1)
    clip = CLIPModel.from_pretrained(weights / ids["clip"]).eval()  # type: ignore[no-untyped-call]
    clip_proc = CLIPImageProcessor.from_pretrained(weights / ids["clip"])
    state = load_file(str(weights / ids["aesthetic"] / "model.safetensors"))
    head = torch.nn.Sequential(
        torch.nn.Linear(*state["layers.0.weight"].shape[::-1]),
        torch.nn.Linear(*state["layers.2.weight"].shape[::-1]),
    )
    # the checkpoint's `layers.0` / `layers.2` are the two linear layers, nothing between
    head.load_state_dict(
        {k.replace("layers.0.", "0.").replace("layers.2.", "1."): v for k, v in state.items()}
    )
    vlm = AutoModelForImageTextToText.from_pretrained(weights / ids["vlm"]).eval()  # type: ignore[no-untyped-call]
    vlm_proc = AutoProcessor.from_pretrained(weights / ids["vlm"])  # type: ignore[no-untyped-call]
    text = vlm_proc.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": PROMPT}]}],
        add_generation_prompt=True,
    )
    (out / "images").mkdir(parents=True)
    (out / "metas").mkdir()
    (out / "embeddings").mkdir()
    paths = sorted(inputs.rglob("*.jpg"))
    done = 0
    for start in range(0, len(paths), batch):
        chunk = paths[start : start + batch]
        raw = [p.read_bytes() for p in chunk]
        images = []
        for p in chunk:
            with Image.open(p) as im:
                images.append(ImageOps.exif_transpose(im).convert("RGB"))
        with torch.inference_mode():
            pixels = clip_proc(images=images, return_tensors="pt")["pixel_values"]
            features = clip.get_image_features(pixel_values=pixels)
            # transformers 5: a model output whose pooler_output is the projection
            feats = features if isinstance(features, torch.Tensor) else features.pooler_output
            feats = torch.nn.functional.normalize(feats, dim=-1)
            scores = head(feats).squeeze(-1)
            enc = vlm_proc(
                images=[_fit(im) for im in images],
                text=[text] * len(images),
                return_tensors="pt",
                padding=True,
            )
            gen = vlm.generate(**enc, max_new_tokens=tokens, do_sample=False)
        captions = vlm_proc.batch_decode(
            gen[:, enc["input_ids"].shape[-1] :], skip_special_tokens=True
        )
        for p, data, im, emb, score, caption in zip(
            chunk, raw, images, feats, scores, captions, strict=True
        ):
            name = p.stem
            (out / "images" / p.name).write_bytes(data)
            np.save(out / "embeddings" / f"{name}.npy", emb.numpy())
            record = {
                "relative_path": str(p.relative_to(inputs)),
                "width": im.width,
                "height": im.height,
                "aesthetic": float(score),
                "caption": caption.strip(),
            }
            (out / "metas" / f"{name}.json").write_text(json.dumps(record))
            done += 1
    return {
        "wall_s": time.monotonic() - started,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "images": done,
    }


def _peer_proc(
    args: tuple[Path, Path, Path, dict[str, str]],
    sizes: dict[str, int],
    q: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    q.put(peer(*args, batch=sizes["batch"], tokens=sizes["tokens"]))


def run_peer(
    inputs: Path, out: Path, weights: Path, ids: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    """The loop in a fresh process (its imports and memory its own), timed from its start."""
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    started = time.monotonic()
    proc = ctx.Process(
        target=_peer_proc,
        args=(
            (inputs, out, weights, ids),
            {"batch": args.peer_batch, "tokens": args.caption_tokens},
            q,
        ),
    )
    proc.start()
    while True:  # a crashed loop must not leave us waiting on the queue forever
        try:
            result: dict[str, Any] = q.get(timeout=5)
            break
        except queue.Empty:
            if not proc.is_alive():
                msg = f"the peer loop exited with {proc.exitcode} before its result"
                raise RuntimeError(msg) from None
    proc.join()
    result["wall_s"] = time.monotonic() - started  # includes the interpreter's start
    return result


def _row(name: str, r: dict[str, Any], note: str = "") -> str:
    return (
        f"| {name} | {r['images']:,} | {r['wall_s']:.1f} | {r['images'] / r['wall_s']:.2f} | "
        f"{r['peak_rss'] / 2**20:,.0f} MB | {note} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="2: ours, peer, peer, ours")
    parser.add_argument("--peer-batch", type=int, default=16)
    parser.add_argument("--caption-tokens", type=int, default=8)
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.pop("RAY_ADDRESS", None)
    work = Path(tempfile.mkdtemp(prefix="bench_image_annotate_"))
    try:
        weights = work / "weights"
        ids = save_models(weights)
        inputs = work / "images"
        make_images(inputs, args.images)
        print(f"load at start: {os.getloadavg()[0]:.1f}", file=sys.stderr)
        order = ["ours", "peer", "peer", "ours"] if args.rounds >= 2 else ["ours", "peer"]
        results: dict[str, list[dict[str, Any]]] = {"ours": [], "peer": []}
        for i, side in enumerate(order):
            out = work / f"out{i}"
            if side == "ours":
                results["ours"].append(run_ours(inputs, out, work / f"run{i}", args))
            else:
                results["peer"].append(run_peer(inputs, out, weights, ids, args))
            r = results[side][-1]
            print(f"{side}: {r['images']} images in {r['wall_s']:.1f} s", file=sys.stderr)
        print(f"load at end: {os.getloadavg()[0]:.1f}", file=sys.stderr)
        print(
            f"\n{args.images:,} JPEGs 96-320 px, {args.cpus} CPUs, captions of "
            f"{args.caption_tokens} tokens, peer batch {args.peer_batch}\n"
        )
        print("| system | images | wall s | images/s | peak RSS | note |")
        print("|---|---|---|---|---|---|")
        for r in results["ours"]:
            note = (
                f"in execute_pipeline {r['pipeline_s']:.1f} s; run report: {r['series_wall_s']:.1f}"
                f" s = set-up (Ray, workers, models) {r['setup_s']:.1f} s + processing "
                f"{r['processing_s']:.1f} s"
            )
            print(_row("image-annotate (driver + Ray workers)", r, note))
        for r in results["peer"]:
            print(_row("Pillow + transformers loop (1 process)", r))
        ours = sum(r["images"] / r["wall_s"] for r in results["ours"]) / len(results["ours"])
        loop = sum(r["images"] / r["wall_s"] for r in results["peer"]) / len(results["peer"])
        print(f"\nours / loop (images/s, end to end): {ours / loop:.2f}x (target 1.2x)")
        print("\nstage busy shares (ours, processing part of the run):")
        for r in results["ours"]:
            print(
                "  "
                + ", ".join(f"{n} {share:.0%} ({busy:.0f} s)" for n, share, busy in r["stages"])
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
