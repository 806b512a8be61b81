"""Checking, before any worker starts, that the weights every stage needs are on disk."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.utils import model_registry
from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name, weights_present


class MissingWeightsError(CurateError):
    """A stage's model weights are not in the local weights folder."""


def missing_model_ids(stages: Iterable[Any]) -> list[str]:
    """Model ids named by the stages' models whose weights are absent, in stage order."""
    missing: list[str] = []
    for stage in stages:
        model = stage.model
        if model is None:
            continue
        for model_id in model.model_id_names:
            if model_id not in missing and not weights_present(model_id):
                missing.append(model_id)
    return missing


def check_weights(stages: Iterable[Any]) -> None:
    """Raise `MissingWeightsError` naming the folder and the command that fetches them."""
    missing = missing_model_ids(stages)
    if not missing:
        return
    model_id = missing[0]
    name = model_registry.name_for_model_id(model_id) or model_id
    folder = get_local_dir_for_weights_name(model_id)
    more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
    msg = (
        f"weights for {model_id}{more} not found in {folder}; "
        f"fetch them with `curate model download --models {name}`"
    )
    raise MissingWeightsError(msg)
