"""The model registry: `configs/all_models.json`, validated with pydantic.

Each entry maps a short name (`gpt2`) to a Hugging Face `model_id`, a pinned `version`
(hub revision), an optional `filelist` and an optional `nvcf_model_id`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pydantic

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.utils import settings


class ModelRegistryError(CurateError):
    """The registry file is missing, malformed, or names a model twice."""


class ModelEntry(pydantic.BaseModel):
    """One model of the registry."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    model_id: str
    version: str
    filelist: list[str] | None = None
    nvcf_model_id: str | None = None


def registry_path() -> Path:
    """The registry file: `CURATE_MODELS_CONFIG` or the repo's `configs/all_models.json`."""
    override = os.environ.get("CURATE_MODELS_CONFIG")
    if override:
        return Path(override).expanduser()
    return settings.repo_root() / "configs" / "all_models.json"


def load_registry(path: Path | None = None) -> dict[str, ModelEntry]:
    """Parse and validate the registry; errors name the file, the entry and the field."""
    path = path or registry_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        msg = f"model registry {path} not found; set CURATE_MODELS_CONFIG or pass --models-config"
        raise ModelRegistryError(msg) from exc
    except json.JSONDecodeError as exc:
        msg = f"model registry {path} is not valid JSON: line {exc.lineno}: {exc.msg}"
        raise ModelRegistryError(msg) from exc
    if not isinstance(raw, dict):
        msg = f"model registry {path} must be a JSON object of name -> entry"
        raise ModelRegistryError(msg)
    entries: dict[str, ModelEntry] = {}
    seen_ids: dict[str, str] = {}
    for name, body in raw.items():
        try:
            entry = ModelEntry.model_validate(body)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "(entry)"
            msg = f"model registry {path}: entry {name!r}, field {field!r}: {first['msg']}"
            raise ModelRegistryError(msg) from exc
        if entry.model_id in seen_ids:
            msg = (
                f"model registry {path}: entries {seen_ids[entry.model_id]!r} and {name!r} "
                f"both name model_id {entry.model_id!r}"
            )
            raise ModelRegistryError(msg)
        seen_ids[entry.model_id] = name
        entries[name] = entry
    return entries


def name_for_model_id(model_id: str, path: Path | None = None) -> str | None:
    """The registry name of a Hugging Face id, or None when it is not registered."""
    try:
        registry = load_registry(path)
    except ModelRegistryError:
        return None
    for name, entry in registry.items():
        if entry.model_id == model_id:
            return name
    return None
