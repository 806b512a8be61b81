"""Upstream's v1.0.2+ path of `cosmos_curate.core.utils.model_utils` (same functions)."""

from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name

__all__ = ["get_local_dir_for_weights_name"]
