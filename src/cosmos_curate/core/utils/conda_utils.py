"""Which conda env this process runs in: upstream Cosmos-Curate's helpers, same names.

A stage's workers run with `CONDA_DEFAULT_ENV` set to the stage's env name (also when the env
is missing and the current interpreter stands in), so the upstream pattern
`if is_running_in_env("transformers"): from transformers import ...` imports in the worker
and not in the driver.
"""

from __future__ import annotations

import os

CONDA_ENV_VAR = "CONDA_DEFAULT_ENV"
_IMAGE_PREFIX = "cosmos-curate:"


def get_conda_env_name() -> str:
    """The current conda env's name, or "" outside any env."""
    return os.environ.get(CONDA_ENV_VAR, "")


def is_running_in_env(env_name: str) -> bool:
    """Whether this process runs in env `env_name` (also spelled `cosmos-curate:<name>`)."""
    return get_conda_env_name() in (env_name, f"{_IMAGE_PREFIX}{env_name}")
