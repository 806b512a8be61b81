"""Which device a model should use inside a worker."""

from __future__ import annotations

import os

DEVICE_ENV_VAR = "CURATE_DEVICE"


def preferred_device() -> str:
    """`"cuda"` when this worker has a usable GPU, else `"cpu"`.

    The runtime sets `CURATE_DEVICE=cpu` in workers of GPU stages running in CPU fallback;
    otherwise CUDA is used when torch sees it.
    """
    forced = os.environ.get(DEVICE_ENV_VAR)
    if forced:
        return forced
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"
