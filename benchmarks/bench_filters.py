"""Content filter cost per clip on CPU: on-screen text detection, VLM filter preparation.

Clips are made with ffmpeg (a moving square on a flat colour, one with a caption burnt in
by `drawtext`), 24 fps, H.264 as the transcode stage writes them, at each `--sizes` entry.
Per clip, in one process, alternating sizes so load drifts hit all alike, `--repeats` times:

- text filter: `text_filter.clip_text_verdict` (decode every 3rd frame capped at 640 px,
  PP-OCR detection through ONNX Runtime on one thread, track rules): the whole stage's work;
- VLM filter, served model: the preparation stage's work (`prepare_windows` with the OpenAI
  preparer: decode the windows' sampled frames, JPEG-encode) plus reading the answers;
- VLM filter, local model: the same with the tiny random LLaVA the tests use (processor on
  CPU, then generation of 8 tokens per window). A real VLM's generation is the GPU's cost
  and is not measured here (no real weights offline).

Printed: the median wall and CPU seconds per clip as a Markdown table.

    .venv/bin/python benchmarks/bench_filters.py --sizes 160x120,640x360,1280x720 --seconds 2
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cosmos_curate.models.openai_captioner import OpenAIInputPreparer
from cosmos_curate.models.text_detector import TextDetector
from cosmos_curate.pipelines.semantic.answers import FilterRule
from cosmos_curate.pipelines.semantic.categories import VIDEO_FILTER_CATEGORIES
from cosmos_curate.pipelines.semantic.prompts import filter_prompt
from cosmos_curate.pipelines.video import decode
from cosmos_curate.pipelines.video.captioning import WindowConfig, prepare_windows
from cosmos_curate.pipelines.video.split.text_filter import clip_text_verdict
from cosmos_curate.pipelines.video.split.text_tracks import TextRules
from cosmos_curate.pipelines.video.tasks import ClipTask


def make_clip(folder: Path, size: str, seconds: float, caption: bool) -> Path:
    """A moving square on blue at `size`, with a burnt-in caption when asked."""
    width, height = (int(v) for v in size.split("x"))
    draw = f"drawbox=x='20+t*40':y={height // 4}:w={width // 6}:h={width // 6}:color=white:t=fill"
    if caption:
        font = max(12, height // 8)
        text = f"text='LIVE 24 NEWS':fontcolor=white:fontsize={font}"
        draw += f",drawtext={text}:x=20:y={height - 2 * font}"
    path = folder / f"{size}-{'text' if caption else 'plain'}.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"color=c=0x2060a0:size={size}:rate=24:duration={seconds}", "-vf", draw,
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path


def clip_task(path: Path) -> ClipTask:
    """The clip as the transcode stage hands it on."""
    meta = decode.probe(path)
    return ClipTask(
        source=str(path), video_id="v", clip_id=path.stem, meta=meta, chunk_index=0,
        start_frame=0, end_frame=meta.num_frames, width=meta.width, height=meta.height,
        num_frames=meta.num_frames, encoded=path.read_bytes(),
    )  # fmt: skip


def timed(work: Callable[[ClipTask], Any], task: ClipTask) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    work(task)
    return time.perf_counter() - wall, time.process_time() - cpu


def local_vlm(folder: Path) -> tuple[Any, Any] | None:
    """The tiny LLaVA's preparer and captioner, or None without the tests' helpers."""
    try:
        from tests.pipelines.video import _synth
    except ImportError:
        return None
    from cosmos_curate.models.captioner import VLMCaptioner, VLMInputPreparer

    os.environ["CURATE_WEIGHTS_DIR"] = str(folder / "weights")
    _synth.save_tiny_vlm()
    preparer, captioner = VLMInputPreparer(_synth.TINY_VLM_ID), VLMCaptioner(_synth.TINY_VLM_ID, 8)
    preparer.setup()
    captioner.setup()
    return preparer, captioner


def main() -> None:
    """Make the clips, time each filter on each, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="160x120,640x360,1280x720")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = args.sizes.split(",")
    detector = TextDetector()
    detector.setup()
    rules = TextRules()
    categories = list(VIDEO_FILTER_CATEGORIES)
    prompt, rule = filter_prompt(categories), FilterRule(tuple(categories))
    windows = WindowConfig(window_size=256, sampling_fps=2.0, max_frames=4)
    answer = "{" + ", ".join(f'"{c}": "no"' for c in categories) + "}"
    served = OpenAIInputPreparer()

    def vlm(task: ClipTask, preparer: Any, captioner: Any | None) -> None:
        spans = windows.windows_for(task)
        prepare_windows(task, spans, windows, preparer, prompt)
        answers = (
            captioner.generate([w.inputs for w in spans]) if captioner else [answer] * len(spans)
        )
        rule.judge(answers)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        local = local_vlm(folder)
        clips = {
            (size, caption): make_clip(folder, size, args.seconds, caption)
            for size in sizes
            for caption in (True, False)
        }
        methods: dict[str, Callable[[ClipTask], Any]] = {
            "text filter": lambda t: clip_text_verdict(t, detector, rules),
            "VLM filter prep + answers, served": lambda t: vlm(t, served, None),
        }
        if local is not None:
            methods["VLM filter, tiny local VLM"] = lambda t: vlm(t, *local)
        times: dict[tuple[str, str, bool], list[tuple[float, float]]] = {}
        for _ in range(args.repeats):
            for (size, caption), path in clips.items():
                for name, method in methods.items():
                    task = clip_task(path)
                    times.setdefault((name, size, caption), []).append(timed(method, task))
        load = os.getloadavg()[0]
        print(
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load:.1f}"
        )
        print(f"clips: {args.seconds:g} s at 24 fps, median of {args.repeats}\n")
        print("| filter | size | caption | wall s/clip | CPU s/clip |")
        print("|---|---|---|---|---|")
        for (name, size, caption), samples in times.items():
            wall = statistics.median(s[0] for s in samples)
            cpu = statistics.median(s[1] for s in samples)
            print(f"| {name} | {size} | {'yes' if caption else 'no'} | {wall:.3f} | {cpu:.3f} |")
        for (size, caption), _path in clips.items():
            task = clip_task(_path)
            found = clip_text_verdict(task, detector, rules).has_text
            print(f"text found at {size}, caption {'yes' if caption else 'no'}: {found}")


if __name__ == "__main__":
    main()
