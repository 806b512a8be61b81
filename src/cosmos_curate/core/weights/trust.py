"""Refusing to run a checkpoint's own code (`trust_remote_code`) from weights nobody verified.

Such a model imports Python files from its weights folder, so the folder must be what its
source published: a manifest saying the download was verified (every file matched a checksum
of the hub revision, or of a verified S3 copy), every file of it present at its size, and no
file the download did not bring. `CURATE_ALLOW_UNVERIFIED_WEIGHTS=1` lifts the check.
"""

from __future__ import annotations

from pathlib import Path

from cosmos_curate.core.utils import settings
from cosmos_curate.core.weights import registry as model_registry
from cosmos_curate.core.weights import store
from cosmos_curate.core.weights.errors import UnverifiedWeightsError


def unverified_reason(folder: Path, model_id: str) -> str:
    """Why `folder` is not a verified download of `model_id` ("" when it is one)."""
    manifest = store.read_manifest(folder)
    if manifest is None:
        return "it has no download manifest (placed there by hand, or the download stopped)"
    if manifest.model_id != model_id:
        return f"its manifest is for {manifest.model_id}"
    if not manifest.verified:
        return (
            f"its download from {manifest.source} was not checked against checksums "
            "published by the source"
        )
    if problem := store.files_problem(folder, manifest, deep=False):
        return problem
    extra = sorted(
        rel for p in folder.rglob("*")
        if p.is_file() and (rel := p.relative_to(folder).as_posix()) not in manifest.files
        and rel != store.MANIFEST_NAME
    )
    if extra:
        return f"it holds files the verified download did not bring: {', '.join(extra[:3])}"
    return ""


def require_verified_weights(folder: Path, model_id: str) -> Path:
    """`folder` when its weights were verified against their source (or the user opted in).

    Raises `UnverifiedWeightsError` saying why and how to fix it otherwise.
    """
    if settings.allow_unverified_weights():
        return folder
    reason = unverified_reason(folder, model_id)
    if not reason:
        return folder
    name = model_registry.name_for_model_id(model_id)
    fetch = (
        f"fetch a verified copy with `curate model download --models {name} --force`"
        if name else "register it and fetch it with `curate model download`"
    )
    msg = (
        f"{model_id} runs code from its weights folder {folder}, but {reason}; {fetch} (from "
        "the hub, or an S3 copy whose manifest is verified), or set "
        "CURATE_ALLOW_UNVERIFIED_WEIGHTS=1 to run it anyway"
    )
    raise UnverifiedWeightsError(msg)
