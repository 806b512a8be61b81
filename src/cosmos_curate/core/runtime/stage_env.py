"""A stage's worker environment: its conda env's interpreter and the variables it gets.

A stage's env comes from `env_info` (ours or an upstream-shaped object with `conda.name`)
or else `conda_env_name`. Its workers get `CONDA_DEFAULT_ENV=<env>` before the stage is
unpickled, also when the env is missing here and the current interpreter stands in, so
upstream's `if is_running_in_env("x"): import ...` at a module's top imports in the worker.
No Ray import.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cosmos_curate.core.interfaces.errors import CurateError, StageDefinitionError
from cosmos_curate.core.interfaces.stage_interface import CuratorStage
from cosmos_curate.core.utils import settings
from cosmos_curate.core.utils.conda_utils import CONDA_ENV_VAR

logger = logging.getLogger(__name__)


def env_python(env_name: str) -> Path:
    """Path of a conda env's interpreter: `<envs root>/<name>/bin/python`."""
    if not env_name or not all(c.isascii() and (c.isalnum() or c in "-_") for c in env_name):
        msg = f"invalid conda env name {env_name!r}: use letters, digits, '-' and '_' only"
        raise CurateError(msg)
    return settings.envs_root() / env_name / "bin" / "python"


def stage_env_name(stage: CuratorStage[Any, Any]) -> str | None:
    """The conda env a stage's workers run in: `env_info`'s, else `conda_env_name`."""
    info = stage.env_info
    if info is not None:
        conda = getattr(info, "conda", None)
        name = getattr(conda, "name", None) or getattr(info, "conda_env_name", None)
        if name:
            return str(name)
    return stage.conda_env_name


def extra_env_vars(stage: CuratorStage[Any, Any]) -> dict[str, str]:
    """Variables `env_info.extra_env_vars` asks for (none without `env_info`)."""
    info = stage.env_info
    extra = getattr(info, "extra_env_vars", None) if info is not None else None
    if not extra:
        return {}
    if not isinstance(extra, Mapping):
        msg = f"stage {stage.name}: env_info.extra_env_vars must be a mapping, got {extra!r}"
        raise StageDefinitionError(msg)
    return {str(key): str(value) for key, value in extra.items()}


def worker_environment(stage: CuratorStage[Any, Any]) -> dict[str, str]:
    """Every variable set in a worker before the stage loads (settings, env name, extras)."""
    environment = settings.forwarded_env()
    env_name = stage_env_name(stage)
    if env_name:
        environment[CONDA_ENV_VAR] = env_name
    environment.update(extra_env_vars(stage))
    return environment


def runtime_env_for(stage: CuratorStage[Any, Any], warned: set[str]) -> dict[str, Any]:
    """Ray `runtime_env` of a stage's actors: only the interpreter, when it differs.

    Environment variables travel in `WorkerConfig.environment` instead: any `env_vars` in
    a runtime_env sends every worker start through Ray's runtime-env agent, which doubles
    the start-up time of a worker process.
    """
    env_name = stage_env_name(stage)
    if not env_name:
        return {}
    python = env_python(env_name)
    if python.exists():
        # Compare environments, not binaries: a venv's python is a symlink to its base.
        if python.parent.parent.resolve() == Path(sys.prefix).resolve():
            return {}
        return {"py_executable": str(python)}
    if env_name not in warned:
        warned.add(env_name)
        logger.warning(
            "conda env %r not found at %s; stage %s runs in the current interpreter "
            "(set CURATE_ENVS_DIR, or run inside an image built with "
            "`curate image build --envs %s`)",
            env_name,
            python,
            stage.name,
            env_name,
        )
    return {}
