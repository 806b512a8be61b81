"""Checking, before any worker starts, that the weights every stage needs are on disk."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cosmos_curate.core.weights.download import ensure_weights


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
    and `curate model download --models NAME`.
    """
    model_ids = stage_model_ids(stages)
    if model_ids:
        ensure_weights(model_ids, download_missing=download_missing, s3_prefix=s3_prefix)
