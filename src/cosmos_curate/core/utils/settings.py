"""Paths and defaults that users override through environment variables.

- `CURATE_WEIGHTS_DIR`: root of model weights (default `<user cache>/cosmos_curate/weights`).
- `CURATE_ENVS_DIR`: folder holding one conda env (or venv) per name, each with `bin/python`
  (default `/opt/conda/envs`, where the image puts them).
- `CURATE_MODELS_CONFIG`: the model registry JSON (default: `configs/all_models.json`).
- `CURATE_RUNS_DIR`: per-run folders (log, summary); `CURATE_RUNS_KEEP`: how many are kept.
- `CURATE_ALLOW_UNVERIFIED_WEIGHTS=1`: let models that run code from their weights folder
  (`trust_remote_code`) load weights not verified against their source.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_ENVS_DIR = Path("/opt/conda/envs")
DEFAULT_METRICS_PORT = 9002


def _user_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) if xdg else Path.home() / ".cache"


def weights_root() -> Path:
    """Folder under which each model's weights live as `<root>/<HF model id>`."""
    override = os.environ.get("CURATE_WEIGHTS_DIR")
    if override:
        return Path(override).expanduser()
    return _user_cache_dir() / "cosmos_curate" / "weights"


def allow_unverified_weights() -> bool:
    """Whether `CURATE_ALLOW_UNVERIFIED_WEIGHTS` opts in to running code from unverified weights."""
    return os.environ.get("CURATE_ALLOW_UNVERIFIED_WEIGHTS", "").strip().lower() in {
        "1", "true", "yes", "on"
    }


def envs_root() -> Path:
    """Folder whose subfolders are the conda envs stages can run in."""
    override = os.environ.get("CURATE_ENVS_DIR")
    return Path(override).expanduser() if override else DEFAULT_ENVS_DIR


def repo_root() -> Path:
    """The folder holding `configs/`, `envs/` and `Dockerfile.j2`.

    `CURATE_REPO_ROOT`, else the source checkout this code runs from, else the copy a wheel
    install ships inside the package (`cosmos_curate/_project`, see setup.py).
    """
    override = os.environ.get("CURATE_REPO_ROOT")
    if override:
        return Path(override).expanduser()
    checkout = Path(__file__).resolve().parents[4]
    if (checkout / "Dockerfile.j2").is_file():
        return checkout
    return Path(__file__).resolve().parents[2] / "_project"


def is_source_checkout(root: Path) -> bool:
    """Whether `root` holds the code too (what `curate image build` copies into the image)."""
    return (root / "pyproject.toml").is_file() and (root / "src" / "cosmos_curate").is_dir()


# Variables a driver forwards to its workers so they see the same folders and hub settings.
FORWARDED_ENV_PREFIXES = ("CURATE_",)
FORWARDED_ENV_NAMES = ("HF_ENDPOINT", "HF_HUB_OFFLINE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")


def forwarded_env() -> dict[str, str]:
    """Settings of this process that workers must share (never secrets such as HF_TOKEN)."""
    return {
        key: value
        for key, value in os.environ.items()
        if key.startswith(FORWARDED_ENV_PREFIXES) or key in FORWARDED_ENV_NAMES
    }


def runs_root() -> Path:
    """Folder of per-run scratch data and default failure records."""
    override = os.environ.get("CURATE_RUNS_DIR")
    if override:
        return Path(override).expanduser()
    return _user_cache_dir() / "cosmos_curate" / "runs"


DEFAULT_RUNS_KEEP = 20


def runs_keep() -> int:
    """How many run folders `curate pipeline run` keeps (`CURATE_RUNS_KEEP`, default 20)."""
    raw = os.environ.get("CURATE_RUNS_KEEP", "").strip()
    try:
        return max(0, int(raw)) if raw else DEFAULT_RUNS_KEEP
    except ValueError:
        return DEFAULT_RUNS_KEEP


def debug() -> bool:
    """Whether `CURATE_DEBUG=1`: the CLI shows the traceback of known errors too."""
    return os.environ.get("CURATE_DEBUG") == "1"


def hub_timeout_s() -> float:
    """Seconds a Hugging Face hub request may take (`CURATE_HUB_TIMEOUT`, default 10)."""
    return float(os.environ.get("CURATE_HUB_TIMEOUT") or 10)


def s3_weights_timeout_s() -> float:
    """`CURATE_S3_TIMEOUT`: seconds before an S3 weights request gives up (default 10)."""
    return float(os.environ.get("CURATE_S3_TIMEOUT") or 10)


def models_config() -> Path | None:
    """The model registry file named by `CURATE_MODELS_CONFIG` (None: the default one)."""
    override = os.environ.get("CURATE_MODELS_CONFIG")
    return Path(override).expanduser() if override else None


# Variables read elsewhere too (set for a child, named in messages): one spelling each.
PIPELINE_MODULES_VAR = "CURATE_PIPELINE_MODULES"
CLUSTER_STATE_VAR = "CURATE_CLUSTER_STATE"
SHIP_CODE_VAR = "CURATE_SHIP_CODE"
WORKING_DIR_VAR = "CURATE_WORKING_DIR"
SHIP_INCLUDE_VAR = "CURATE_SHIP_INCLUDE"
BIND_HOST_VAR = "CURATE_BIND_HOST"
DEVICE_VAR = "CURATE_DEVICE"


def _listed(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


def pipeline_modules() -> list[str]:
    """The modules `CURATE_PIPELINE_MODULES` names (comma-separated), in order."""
    return _listed(PIPELINE_MODULES_VAR)


def cluster_state_file() -> Path:
    """`CURATE_CLUSTER_STATE`, else `<user cache>/cosmos_curate/cluster/state.json`."""
    override = os.environ.get(CLUSTER_STATE_VAR)
    if override:
        return Path(override).expanduser()
    return _user_cache_dir() / "cosmos_curate" / "cluster" / "state.json"


def ship_code_mode() -> str:
    """`CURATE_SHIP_CODE` lower-cased (default `auto`); the code shipping checks its value."""
    return os.environ.get(SHIP_CODE_VAR, "auto").strip().lower() or "auto"


def working_dir() -> str:
    """`CURATE_WORKING_DIR` as given (a folder or `none`), else the current folder."""
    return os.environ.get(WORKING_DIR_VAR, os.getcwd())


def ship_include() -> list[str]:
    """The globs in `CURATE_SHIP_INCLUDE` (comma-separated; none when unset)."""
    return _listed(SHIP_INCLUDE_VAR)


def bind_host_setting() -> str:
    """`CURATE_BIND_HOST` as given, stripped (an IP, `auto`, or empty when unset)."""
    return os.environ.get(BIND_HOST_VAR, "").strip()


def forced_device() -> str | None:
    """`CURATE_DEVICE` (set by the runtime in CPU-fallback workers of GPU stages), else None."""
    return os.environ.get(DEVICE_VAR) or None
