"""The model registry: loading, validation errors a user can act on, selection by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.core.weights.weights_testlib import GPT2_ID, GPT2_SHA, write_registry

from cosmos_curate.core.utils import settings
from cosmos_curate.core.weights import registry as model_registry
from cosmos_curate.core.weights.registry import ModelRegistryError, UnknownModelError

GOOD = {"model_id": GPT2_ID, "version": GPT2_SHA, "filelist": None, "nvcf_model_id": "gpt2"}


def _error_for(path: Path) -> str:
    with pytest.raises(ModelRegistryError) as info:
        model_registry.load_registry(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_shipped_registry_has_gpt2_pinned() -> None:
    """configs/all_models.json loads and pins gpt2 to a commit sha."""
    registry = model_registry.load_registry(model_registry.registry_path(None))
    assert registry["gpt2"].model_id == GPT2_ID
    assert registry["gpt2"].version == GPT2_SHA


def test_bad_json_names_file_and_line(registry_file: Path) -> None:
    """A syntax error is one line naming the file and the line."""
    registry_file.write_text('{"gpt2": {"model_id": "a/b",}', encoding="utf-8")
    assert "is not valid JSON: line 1" in _error_for(registry_file)


def test_unknown_key_names_entry_and_field(registry_file: Path) -> None:
    """A typo'd key is rejected, naming the entry, the key and the allowed keys."""
    write_registry(registry_file, {"gpt2": {**GOOD, "revison": "x"}})
    message = _error_for(registry_file)
    assert "entry 'gpt2', field 'revison': unknown key" in message
    assert "model_id, version, filelist, nvcf_model_id" in message


def test_missing_field_names_entry_and_field(registry_file: Path) -> None:
    """An entry without `version` says which entry lacks which field."""
    write_registry(registry_file, {"gpt2": {"model_id": GPT2_ID}})
    assert "entry 'gpt2', field 'version': missing required field" in _error_for(registry_file)


def test_duplicate_model_id_names_both_entries(registry_file: Path) -> None:
    """Two names for one model id are rejected, naming both entries."""
    write_registry(registry_file, {"gpt2": GOOD, "gpt2-copy": GOOD})
    message = _error_for(registry_file)
    assert "entry 'gpt2-copy', field 'model_id'" in message
    assert "already used by entry 'gpt2'" in message


def test_duplicate_name_in_json_is_not_silently_dropped(registry_file: Path) -> None:
    """The same name twice in the JSON object is an error, not last-one-wins."""
    first = f'{{"model_id": "a/b", "version": "{GPT2_SHA}"}}'
    second = f'{{"model_id": "c/d", "version": "{GPT2_SHA}"}}'
    body = f'{{"gpt2": {first}, "gpt2": {second}}}'
    registry_file.write_text(body, encoding="utf-8")
    assert "key 'gpt2' appears twice" in _error_for(registry_file)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("version", "main", "40-character hub commit sha"),
        ("filelist", [], "at least one file"),
        ("filelist", ["../etc/passwd"], "not a relative file path"),
        ("filelist", ["a.json", "a.json"], "lists a file twice"),
        ("model_id", "../evil", "Hugging Face id"),
        ("filelist", "config.json", "valid list"),
    ],
)
def test_bad_field_values(registry_file: Path, field: str, value: object, expected: str) -> None:
    """Unpinned versions, unsafe paths and wrong types are one-line errors naming the field."""
    write_registry(registry_file, {"m": {**GOOD, field: value}})
    message = _error_for(registry_file)
    assert f"entry 'm', field '{field}" in message
    assert expected in message


def test_entry_that_is_not_an_object(registry_file: Path) -> None:
    """A bare string as an entry is a clear error."""
    write_registry(registry_file, {"gpt2": "openai-community/gpt2"})
    assert "entry 'gpt2' must be an object" in _error_for(registry_file)


def test_missing_file_says_how_to_point_elsewhere(tmp_path: Path) -> None:
    """A registry path that does not exist says which option picks another file."""
    assert "--models-config" in _error_for(tmp_path / "nope.json")


def test_env_var_replaces_the_shipped_registry(
    registry_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CURATE_MODELS_CONFIG points the loader at the user's file; an explicit path wins."""
    write_registry(registry_file, {"mine": {**GOOD, "model_id": "me/model"}})
    monkeypatch.setenv("CURATE_MODELS_CONFIG", str(registry_file))
    assert list(model_registry.load_registry()) == ["mine"]
    assert model_registry.name_for_model_id("me/model") == "mine"
    shipped = settings.repo_root() / "configs" / "all_models.json"
    assert "gpt2" in model_registry.load_registry(shipped)


def test_unknown_model_lists_known_ones(registry_file: Path) -> None:
    """Asking for a name not in the registry lists the names that are."""
    write_registry(registry_file, {"gpt2": GOOD, "other": {**GOOD, "model_id": "x/y"}})
    registry = model_registry.load_registry(registry_file)
    with pytest.raises(UnknownModelError, match=r"unknown model 'gtp2'; known models: gpt2, other"):
        model_registry.select_models(registry, ["gtp2"])
    assert list(model_registry.select_models(registry, ["other", "gpt2"])) == ["other", "gpt2"]
