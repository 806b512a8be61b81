"""A small real video-split output, written by the pipeline's own writers, and a served viewer.

`make_output` writes three kept clips (two sources, captions per window, webp previews,
embeddings), two dropped ones (motion, aesthetic) and a failure record; the run's
`report.html` lives in a run folder under `runs`, as a real run leaves it. `dedup` runs the
real `video-dedup` pipeline on that output, `dedup_and_shard` that and `video-shard` (Ray
must be up).
`Viewer` runs `curate view` as a real process and reads the URL it prints.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import attrs
import numpy as np

from cosmos_curate.core.interfaces.results import FailureRecord
from cosmos_curate.core.runs.run import create_run
from cosmos_curate.core.runs.summary import save_run
from cosmos_curate.pipelines.video.layout import OutputLayout
from cosmos_curate.pipelines.video.previews import animated_webp, preview_key
from cosmos_curate.pipelines.video.split.writer import ClipWriterStage
from cosmos_curate.pipelines.video.tasks import ClipTask, VideoMeta
from cosmos_curate.pipelines.video.windows import CaptionWindow

CAPTIONS = {
    "kite-0001_0000000_0000060": ["A red kite drifts over a grey sea.", "The kite dips low."],
    "kite-0001_0000060_0000120": ["Waves break on a pebble beach."],
    "city-0002_0000000_0000060": ["Night traffic on a wet city street."],
}
# Unit embeddings: kite-0 and kite-60 at cosine 0.970, city at 0.781 / 0.757 from them. In
# the one cluster city is first (farthest from the centroid), then kite-60, then kite-0: at
# eps 0.01 nothing goes, at 0.05 kite-0 (a duplicate of kite-60), at 0.3 both kites.
EMBEDDINGS = {
    "kite-0001_0000000_0000060": (1.0, 0.0, 0.0),
    "kite-0001_0000060_0000120": (1.0, 0.25, 0.0),
    "city-0002_0000000_0000060": (1.0, 0.0, 0.8),
}
EPS = [0.01, 0.05, 0.3]
PROMPT = "Describe the video in detail."
WAIT_S = 120.0  # start-up of a Python process on a loaded machine


def sample_mp4(path: Path) -> bytes:
    """A 4 s 160x90 H.264 mp4 with a keyframe every 0.5 s, moov first (seekable)."""
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x90:rate=30",
         "-t", "4", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "15",
         "-movflags", "+faststart", str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    return path.read_bytes()


def _clip(clip_id: str, encoded: bytes | None, aesthetic: float, motion: float) -> ClipTask:
    video_id, start, end = clip_id.rsplit("_", 2)
    meta = VideoMeta(duration_s=8.0, fps=30.0, width=160, height=90, codec="h264", num_frames=240)
    task = ClipTask(
        source=f"/videos/{video_id}.mp4", video_id=video_id, clip_id=clip_id, meta=meta,
        chunk_index=0, start_frame=int(start), end_frame=int(end), width=160, height=90,
        num_frames=int(end) - int(start), video_codec="h264", audio_codec=None,
        aesthetic_score=aesthetic, motion_score=motion, encoded=encoded,
    )  # fmt: skip
    task.annotations.update(caption_model="Qwen/Qwen2.5-VL-7B-Instruct", caption_prompt=PROMPT)
    return task


def make_output(root: Path, runs: Path) -> Path:
    """Write the output under `root/out` and its run under `runs`; return the output folder."""
    out = root / "out"
    layout = OutputLayout(out)
    encoded = sample_mp4(root / "sample.mp4")
    writer = ClipWriterStage(layout, {"splitting": "shot"})
    frames = [np.full((90, 160, 3), shade, np.uint8) for shade in (40, 120, 200)]
    for n, (clip_id, captions) in enumerate(CAPTIONS.items()):
        task = _clip(clip_id, encoded, aesthetic=4.0 + n, motion=0.5 + n)
        step = 60 // len(captions)
        for i, caption in enumerate(captions):
            window = CaptionWindow(i * step, (i + 1) * step, caption=caption)
            window.preview_path = preview_key(clip_id, window.start_frame, window.end_frame)
            layout.write_bytes(window.preview_path, animated_webp(frames, fps=1.0))
            task.windows.append(window)
        task.caption = " ".join(captions)
        vector = np.asarray(EMBEDDINGS[clip_id], dtype=np.float32)
        task.embedding = vector / np.linalg.norm(vector)
        writer.process_data([task])
    for clip_id, by, why in (
        ("city-0002_0000060_0000120", "motion", "motion_global_mean 0.0001 < 0.00098"),
        ("city-0002_0000120_0000180", "aesthetic", "aesthetic 2.1 < 3.5"),
    ):
        task = _clip(clip_id, encoded if by == "motion" else None, aesthetic=2.1, motion=0.0)
        task.drop(by, why)
        writer.process_data([task])
    record = FailureRecord("TranscodeStage", "ValueError: moov atom not found", "Traceback ...",
                           3, "ClipTask(source='/videos/broken.mp4')")  # fmt: skip
    layout.write_bytes("failures/run-1.jsonl", (record.to_json() + "\n").encode())
    run = create_run("video-split", root=runs)
    save_run(run, {"pipeline": "video-split", "outputs_path": str(out)}, "log\n")
    (run.folder / "report.html").write_text("<html><body>the run's report</body></html>")
    return out


def dedup(root: Path, split: Path) -> Path:
    """Run video-dedup (eps 0.01, 0.05, 0.3) on `split` into `root/dedup` (Ray must be up)."""
    from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
    from cosmos_curate.pipelines.video.dedup.pipeline import VideoDedupOptions, dedup_videos

    out = root / "dedup"
    dedup_videos(
        VideoDedupOptions(input_path=str(split), output_path=str(out), n_clusters=1, eps=EPS,
                          workers_per_stage=1),
        RunOptions(metrics_port=None),
    )  # fmt: skip
    return out


def dedup_and_shard(root: Path, split: Path) -> tuple[Path, Path]:
    """Run video-dedup (`dedup`) and video-shard (at eps 0.05) on `split`."""
    from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
    from cosmos_curate.pipelines.video.shard.pipeline import VideoShardOptions, shard_videos

    deduped, shards = dedup(root, split), root / "shards"
    shard_videos(
        VideoShardOptions(input_path=str(split), output_path=str(shards), dedup_path=str(deduped),
                          eps=0.05, workers_per_stage=1),
        RunOptions(metrics_port=None),
    )  # fmt: skip
    return deduped, shards


@attrs.define
class Viewer:
    """`curate view` running as its own process; `url` is the first line it printed."""

    process: subprocess.Popen[str]
    url: str

    @classmethod
    def start(cls, path: Path | str, runs: Path, *args: str) -> Viewer:
        """Start `curate view PATH --port 0 ARGS` and wait (up to WAIT_S) for its URL."""
        env = {**os.environ, "CURATE_RUNS_DIR": str(runs)}
        process = subprocess.Popen(
            [sys.executable, "-m", "cosmos_curate.cli.main", "view", str(path), "--port", "0",
             *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        assert process.stdout is not None
        line = process.stdout.readline().strip()  # blocks until printed or the process ends
        if not line.startswith("http://"):
            process.kill()
            _, err = process.communicate(timeout=WAIT_S)
            raise AssertionError(f"no URL printed: {line!r} {err[-2000:]}")
        return cls(process, line)

    def base(self) -> str:
        """The URL without its query (the token)."""
        return self.url.split("?")[0]

    def stop(self) -> int:
        """Ctrl-C the server; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a GET (errors are answers too)."""
    request = urllib.request.Request(url, headers=headers or {})
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            with urllib.request.urlopen(request, timeout=WAIT_S) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()
        except ConnectionError:
            if time.monotonic() > deadline:
                raise


def get_json(url: str) -> dict[str, object]:
    """The parsed JSON of a GET that must answer 200."""
    status, _, body = get(url)
    assert status == 200, (url, status, body[:300])
    data = json.loads(body)
    assert isinstance(data, dict)
    return data
