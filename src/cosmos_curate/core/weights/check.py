"""Checking, before any worker starts, that the weights every stage needs are on disk.

Models that run code from their weights folder (`trusts_remote_code = True`) also need a
verified download there (`core.weights.trust`), so the run is refused before it starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cosmos_curate.core.weights.download import ensure_weights
from cosmos_curate.core.weights.trust import require_verified_weights


def stage_model_ids(stages: Iterable[Any]) -> list[str]:
    """Model ids named by the stages' models, in stage order, without repeats."""
    ids: dict[str, None] = {}
    for stage in stages:
        if stage.model is not None:
            ids.update(dict.fromkeys(stage.model.model_id_names))
    return list(ids)


def check_weights(
    stages: Iterable[Any], *, download_missing: bool = False, s3_prefix: str | None = None
) -> None:
    """Make every stage's weights present on this node, or raise naming the fetch command.

    With `download_missing`, missing or incomplete weights are fetched (from `s3_prefix`
    when given, else the Hugging Face hub); otherwise `WeightsNotReadyError` names the folder
    and `curate model download --models NAME`. A model that trusts its checkpoint's code and
    finds an unverified folder raises `UnverifiedWeightsError`.
    """
    stages = list(stages)
    model_ids = stage_model_ids(stages)
    if model_ids:
        ensure_weights(model_ids, download_missing=download_missing, s3_prefix=s3_prefix)
    for stage in stages:
        model = stage.model
        if model is not None and getattr(model, "trusts_remote_code", False):
            require_verified_weights(model.weights_folder(), model.model_id)
