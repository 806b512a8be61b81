"""The model registry: `configs/all_models.json`, validated with pydantic.

Each entry maps a short name (`gpt2`) to a Hugging Face `model_id`, a pinned `version`
(the hub commit sha), an optional `filelist` (null: every file of the model) and an optional
`nvcf_model_id`. A user's own file replaces the shipped one through `--models-config` or
`CURATE_MODELS_CONFIG`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pydantic

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.utils import settings
from cosmos_curate.core.weights.names import name_problem

_COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")


class ModelRegistryError(CurateError):
    """The registry file is missing, malformed, or names a model twice."""


class UnknownModelError(ModelRegistryError):
    """A model name asked for is not in the registry; the message lists the known ones."""


class ModelEntry(pydantic.BaseModel):
    """One model of the registry."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    model_id: str
    version: str
    filelist: list[str] | None = None
    nvcf_model_id: str | None = None

    @pydantic.field_validator("model_id")
    @classmethod
    def _check_model_id(cls, value: str) -> str:
        parts = value.split("/")
        if len(parts) > 2 or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
            msg = "must be a Hugging Face id like 'org/name'"
            raise ValueError(msg)
        return value

    @pydantic.field_validator("version")
    @classmethod
    def _check_version(cls, value: str) -> str:
        if not _COMMIT_SHA.fullmatch(value):
            msg = "must be a 40-character hub commit sha (a pinned revision, not a branch or tag)"
            raise ValueError(msg)
        return value

    @pydantic.field_validator("filelist")
    @classmethod
    def _check_filelist(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            msg = "must list at least one file, or be null for every file"
            raise ValueError(msg)
        for item in value:
            if problem := name_problem(item):
                msg = f"{item!r} is not a relative file path inside the model repository: {problem}"
                raise ValueError(msg)
        if len(set(value)) != len(value):
            msg = "lists a file twice"
            raise ValueError(msg)
        return value


def registry_path(override: Path | str | None = None) -> Path:
    """The registry: `override`, else `CURATE_MODELS_CONFIG`, else `configs/all_models.json`."""
    if override:
        return Path(override).expanduser()
    return settings.models_config() or settings.repo_root() / "configs" / "all_models.json"


def _reject_duplicate_names(path: Path) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                msg = f"model registry {path}: key {key!r} appears twice in one object"
                raise ModelRegistryError(msg)
            out[key] = value
        return out

    return hook


def _field_error(path: Path, name: str, exc: pydantic.ValidationError) -> ModelRegistryError:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "(entry)"
    if first["type"] == "extra_forbidden":
        allowed = ", ".join(ModelEntry.model_fields)
        text = f"unknown key (allowed: {allowed})"
    elif first["type"] == "missing":
        text = "missing required field"
    else:
        text = str(first["msg"]).removeprefix("Value error, ")
    return ModelRegistryError(f"model registry {path}: entry {name!r}, field {field!r}: {text}")


def load_registry(path: Path | str | None = None) -> dict[str, ModelEntry]:
    """Parse and validate the registry; errors name the file, the entry and the field."""
    path = registry_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        msg = f"model registry {path} not found; set CURATE_MODELS_CONFIG or pass --models-config"
        raise ModelRegistryError(msg) from exc
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        msg = f"model registry {path} is not a UTF-8 JSON file ({type(exc).__name__})"
        raise ModelRegistryError(msg) from exc
    try:
        raw = json.loads(text, object_pairs_hook=_reject_duplicate_names(path))
    except json.JSONDecodeError as exc:
        msg = f"model registry {path} is not valid JSON: line {exc.lineno}: {exc.msg}"
        raise ModelRegistryError(msg) from exc
    if not isinstance(raw, dict):
        msg = f"model registry {path} must be a JSON object of name -> entry"
        raise ModelRegistryError(msg)
    entries: dict[str, ModelEntry] = {}
    seen_ids: dict[str, str] = {}
    for name, body in raw.items():
        if not isinstance(body, dict):
            msg = f"model registry {path}: entry {name!r} must be an object with model_id, version"
            raise ModelRegistryError(msg)
        try:
            entry = ModelEntry.model_validate(body)
        except pydantic.ValidationError as exc:
            raise _field_error(path, name, exc) from exc
        if entry.model_id in seen_ids:
            msg = (
                f"model registry {path}: entry {name!r}, field 'model_id': {entry.model_id!r} is "
                f"already used by entry {seen_ids[entry.model_id]!r}"
            )
            raise ModelRegistryError(msg)
        seen_ids[entry.model_id] = name
        entries[name] = entry
    return entries


def select_models(
    registry: dict[str, ModelEntry], names: Iterable[str] | None
) -> dict[str, ModelEntry]:
    """The entries for `names` (None: all), in the order asked; unknown names list known ones."""
    if names is None:
        return dict(registry)
    wanted = [n.strip() for n in names if n.strip()]
    unknown = [n for n in wanted if n not in registry]
    if unknown:
        known = ", ".join(sorted(registry)) or "(none)"
        msg = f"unknown model {', '.join(map(repr, unknown))}; known models: {known}"
        raise UnknownModelError(msg)
    return {n: registry[n] for n in wanted}


def entry_for_model_id(
    model_id: str, registry: dict[str, ModelEntry]
) -> tuple[str, ModelEntry] | None:
    """The `(name, entry)` registering a Hugging Face id, or None."""
    for name, entry in registry.items():
        if entry.model_id == model_id:
            return name, entry
    return None


def name_for_model_id(model_id: str, path: Path | None = None) -> str | None:
    """The registry name of a Hugging Face id, or None when it is not registered."""
    try:
        registry = load_registry(path)
    except ModelRegistryError:
        return None
    found = entry_for_model_id(model_id, registry)
    return found[0] if found else None
