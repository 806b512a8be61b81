"""Upstream's v1.0.2+ path of `cosmos_curate.core.utils.conda_utils` (same functions)."""

from cosmos_curate.core.utils.conda_utils import get_conda_env_name, is_running_in_env

__all__ = ["get_conda_env_name", "is_running_in_env"]
