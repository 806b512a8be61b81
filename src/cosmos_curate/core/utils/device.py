"""Which device a model should use inside a worker."""

from __future__ import annotations

from pathlib import Path

from cosmos_curate.core.utils import settings

DEVICE_ENV_VAR = settings.DEVICE_VAR


def preferred_device() -> str:
    """`"cuda"` when this worker has a usable GPU, else `"cpu"`.

    The runtime sets `CURATE_DEVICE=cpu` in workers of GPU stages running in CPU fallback;
    otherwise CUDA is used when torch sees it.
    """
    forced = settings.forced_device()
    if forced:
        return forced
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def host_has_gpus() -> bool:
    """Whether this machine has NVIDIA GPUs (a device node of the driver exists); no imports."""
    return Path("/dev/nvidiactl").exists() or Path("/dev/nvidia0").exists()
