"""image-annotate vs a plain single-process loop: images/s and peak memory (#29, "Speed").

Both sides do the same work with the same tiny models (the tests' random CLIP, aesthetic
head and LLaVA VLM, `tests/pipelines/video/_synth.py`) on the same `--images` JPEGs: read +
decode (EXIF-oriented RGB), CLIP embedding + aesthetic score, a greedy caption of
`--caption-tokens` tokens (`--peer-batch` images per VLM batch on both sides, 16 per CLIP
batch), and one output per image (its bytes, a JSON record, the embedding as .npy). Ours is
`annotate_images(options, run_options)` with `--cpus` CPUs, twice: in process (its default
on a machine like this one) and on its own local Ray (`in_process=False`), and the command a
user types, `curate pipeline run image-annotate` (its defaults: in process here, weights
checked, run folder and log); the peer is the loop a careful user writes: Pillow +
transformers in one process, `--peer-batch` images per forward pass for CLIP and the VLM,
torch using every core. Every side runs in a fresh spawned process timed from its start
(interpreter, imports, model loads included); peak RSS is summed over that process and its
children (Ray's). `--rounds 2` runs the four sides, then again in reverse order; the disk is
synced before each side (outside its time).

    .venv/bin/python benchmarks/bench_image_annotate.py [--images 2000] [--cpus 2] [--rounds 1]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT_DIR = os.path.dirname(BENCH_DIR)
sys.path[:0] = [BENCH_DIR, ROOT_DIR]

import psutil  # noqa: E402
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


def ours(inputs: Path, out: Path, run_dir: Path, sizes: dict[str, Any]) -> dict[str, Any]:
    """`annotate_images` in this (fresh) process: its imports, Ray's start when on Ray."""
    started = time.monotonic()
    from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
    from cosmos_curate.core.runs import create_run
    from cosmos_curate.pipelines.image.pipeline import ImageAnnotateOptions, annotate_images
    from cosmos_curate.report.busy import phases
    from cosmos_curate.report.series import read_series

    options = ImageAnnotateOptions.model_validate(
        {
            "input_path": str(inputs),
            "output_path": str(out),
            "caption_model_id": sizes["vlm"],
            "caption_max_tokens": sizes["tokens"],
            "caption_batch_size": sizes["batch"],  # the loop's VLM batch (CLIP's: 16 both)
            "caption_prep_min_pixels": MIN_PIXELS,
            "caption_prep_max_pixels": MAX_PIXELS,
            "caption_prompt": PROMPT,
            "in_process": sizes["in_process"],
        },
    )
    # a run folder with its marker, as the CLI makes: the series then counts Ray's start
    run = create_run("image-annotate", root=run_dir)
    run_options = RunOptions(
        num_cpus=sizes["cpus"], metrics_port=None, check_weights=False, run_dir=run.folder
    )
    result = annotate_images(options, run_options)
    wall = time.monotonic() - started
    summary = json.loads((out / "summary.json").read_text())
    split = phases(read_series(run.folder))
    return {
        "wall_s": wall,
        "images": summary["num_images_with_caption"],
        "pipeline_s": summary["wall_time_s"],
        "series_wall_s": split.wall_s,
        "setup_s": split.setup_s,
        "processing_s": split.processing_s,
        "stages": [(s.name, s.process_seconds_total) for s in result.progress.stages],
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
    return {"wall_s": time.monotonic() - started, "images": done}


def _in_child(
    work: Any,
    args: tuple[Any, ...],
    q: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    q.put(work(*args))


class TreeRss:
    """Peak RSS of one process and its descendants (Ray workers), sampled every 0.1 s."""

    def __init__(self, pid: int) -> None:
        self.peak = 0
        self._root = psutil.Process(pid)

    def sample(self) -> None:
        total = 0
        with contextlib.suppress(psutil.Error):
            for proc in [self._root, *self._root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
        self.peak = max(self.peak, total)


def in_fresh_process(work: Any, *args: Any) -> dict[str, Any]:
    """`work(*args)` in a spawned process (its imports and memory its own), timed from spawn.

    Both sides run this way, so each pays its interpreter's start and its imports.
    """
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    started = time.monotonic()
    proc = ctx.Process(target=_in_child, args=(work, args, q))
    proc.start()
    assert proc.pid is not None  # started
    rss = TreeRss(proc.pid)
    while True:  # a crashed side must not leave us waiting on the queue forever
        rss.sample()
        try:
            result: dict[str, Any] = q.get(timeout=0.1)
            break
        except queue.Empty:
            if not proc.is_alive():
                msg = f"{work.__name__} exited with {proc.exitcode} before its result"
                raise RuntimeError(msg) from None
    proc.join()
    result["wall_s"] = time.monotonic() - started  # includes the interpreter's start
    result["peak_rss"] = rss.peak
    return result


def run_peer(
    inputs: Path, out: Path, weights: Path, ids: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    """The loop in a fresh process."""
    sizes = {"batch": args.peer_batch, "tokens": args.caption_tokens}
    return in_fresh_process(_peer_entry, (inputs, out, weights, ids), sizes)


def _peer_entry(
    paths: tuple[Path, Path, Path, dict[str, str]], sizes: dict[str, int]
) -> dict[str, Any]:
    return peer(*paths, batch=sizes["batch"], tokens=sizes["tokens"])


def run_ours(
    paths: tuple[Path, Path, Path], vlm: str, args: argparse.Namespace, *, in_process: bool
) -> dict[str, Any]:
    """image-annotate in a fresh process, in process or on its own local Ray."""
    sizes = {
        "vlm": vlm,
        "cpus": args.cpus,
        "tokens": args.caption_tokens,
        "batch": args.peer_batch,
        "in_process": in_process,
    }
    return in_fresh_process(ours, *paths, sizes)


def run_cli(
    paths: tuple[Path, Path, Path, Path], vlm: str, args: argparse.Namespace
) -> dict[str, Any]:
    """`curate pipeline run image-annotate` as a user types it, timed from spawn to exit."""
    inputs, out, weights, runs = paths
    command = [
        sys.executable, "-m", "cosmos_curate.cli.main", "pipeline", "run", "image-annotate",
        "--input-path", str(inputs), "--output-path", str(out), "--caption-model-id", vlm,
        "--caption-max-tokens", str(args.caption_tokens),
        "--caption-batch-size", str(args.peer_batch),
        "--caption-prep-min-pixels", str(MIN_PIXELS),
        "--caption-prep-max-pixels", str(MAX_PIXELS),
        "--caption-prompt", PROMPT, "--no-progress",
    ]  # fmt: skip
    env = {**os.environ, "CURATE_WEIGHTS_DIR": str(weights), "CURATE_RUNS_DIR": str(runs)}
    started = time.monotonic()
    proc = subprocess.Popen(
        command, env=env, cwd=ROOT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    rss = TreeRss(proc.pid)
    while proc.poll() is None:
        rss.sample()
        time.sleep(0.1)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        assert proc.stderr is not None
        msg = f"curate exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}"
        raise RuntimeError(msg)
    summary = json.loads((out / "summary.json").read_text())
    return {
        "wall_s": wall,
        "images": summary["num_images_with_caption"],
        "pipeline_s": summary["wall_time_s"],
        "peak_rss": rss.peak,
    }


def _row(name: str, r: dict[str, Any], note: str = "") -> str:
    return (
        f"| {name} | {r['images']:,} | {r['wall_s']:.1f} | {r['images'] / r['wall_s']:.2f} | "
        f"{r['peak_rss'] / 2**20:,.0f} MB | {note} |"
    )


def _rate(runs: list[dict[str, Any]]) -> float:
    """Mean images/s of the runs of one side."""
    return float(sum(r["images"] / r["wall_s"] for r in runs) / len(runs))


def _print_results(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    """The table, the ratios against the loop and each stage's busy seconds."""
    print(
        f"\n{args.images:,} JPEGs 96-320 px, {args.cpus} CPUs, captions of "
        f"{args.caption_tokens} tokens, peer batch {args.peer_batch}; every side in a fresh "
        "process, timed from its start (imports included)\n"
    )
    print("| system | images | wall s | images/s | peak RSS | note |")
    print("|---|---|---|---|---|---|")
    names = {
        "cli": "`curate pipeline run image-annotate` (in process, its default here)",
        "ours": "image-annotate, in process (the default on this machine)",
        "ray": "image-annotate on a local Ray (--no-in-process; driver + workers)",
    }
    for r in results["cli"]:
        note = f"the command as typed; its summary's wall_time_s {r['pipeline_s']:.1f} s"
        print(_row(names["cli"], r, note))
    for side in ("ours", "ray"):
        for r in results[side]:
            note = (
                f"annotate_images {r['pipeline_s']:.1f} s; run report {r['series_wall_s']:.1f}"
                f" s = set-up {r['setup_s']:.1f} s + processing {r['processing_s']:.1f} s"
            )
            print(_row(names[side], r, note))
    for r in results["peer"]:
        print(_row("Pillow + transformers loop (1 process)", r))
    loop = _rate(results["peer"])
    for side in ("cli", "ours", "ray"):
        print(f"\n{names[side]} / loop (images/s): {_rate(results[side]) / loop:.2f}x")
    print("(target 1.2x)\n\nseconds inside each stage's calls (ours):")
    for side in ("ours", "ray"):
        for r in results[side]:
            stages = ", ".join(f"{n} {busy:.1f}" for n, busy in r["stages"])
            print(f"  {side}: {stages}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="2: each order, then reversed")
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
        sides = ["ours", "peer", "cli", "ray"]
        order = sides + sides[::-1] if args.rounds >= 2 else sides
        results: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
        for i, side in enumerate(order):
            out = work / f"out{i}"
            # each side starts with no dirty pages to flush: the inputs just written, or the
            # loop's 6,000 files (written without fsync) would slow the next side's fsyncs
            os.sync()
            if side == "peer":
                results["peer"].append(run_peer(inputs, out, weights, ids, args))
            elif side == "cli":
                cli_paths = (inputs, out, weights, work / f"runs{i}")
                results["cli"].append(run_cli(cli_paths, ids["vlm"], args))
            else:
                in_process = side == "ours"
                run_dir = work / f"run{i}"
                paths = (inputs, out, run_dir)
                results[side].append(run_ours(paths, ids["vlm"], args, in_process=in_process))
            r = results[side][-1]
            print(f"{side}: {r['images']} images in {r['wall_s']:.1f} s", file=sys.stderr)
        print(f"load at end: {os.getloadavg()[0]:.1f}", file=sys.stderr)
        _print_results(results, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
