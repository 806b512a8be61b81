"""Downloads through the real `huggingface_hub` client from a fake hub on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from pathlib import Path

import pytest
from tests.core.weights.fake_hf_hub import FakeHub
from tests.core.weights.weights_testlib import GPT2_ID, GPT2_SHA, NEWER_SHA, TOKEN, write_registry

from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name
from cosmos_curate.core.weights import store as weights_store
from cosmos_curate.core.weights.download import download_model, ensure_weights
from cosmos_curate.core.weights.errors import (
    CorruptDownloadError,
    HubAccessError,
    HubOfflineError,
    HubUnreachableError,
    MissingFileError,
    RevisionError,
    WeightsNotReadyError,
)
from cosmos_curate.core.weights.registry import ModelEntry
from cosmos_curate.core.weights.store import WeightsState

pytestmark = pytest.mark.integration
CHUNK = 10 * 1024 * 1024  # the client's write unit: resumes start at a multiple of it
ENTRY = ModelEntry(model_id=GPT2_ID, version=GPT2_SHA)


def _folder() -> Path:
    return get_local_dir_for_weights_name(GPT2_ID)


def _assert_same_files(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        assert hashlib.sha256((folder / name).read_bytes()).digest() == hashlib.sha256(
            data
        ).digest(), name


def test_download_fetches_every_file_at_the_pin(
    hub_env: FakeHub, tiny_gpt2_files: dict[str, bytes]
) -> None:
    """All files of the pinned commit land in the weights folder, byte for byte, with a manifest."""
    result = download_model("gpt2", ENTRY)
    assert not result.skipped
    assert result.folder == _folder()
    _assert_same_files(_folder(), tiny_gpt2_files)
    manifest = weights_store.read_manifest(_folder())
    assert manifest is not None
    assert manifest.revision == GPT2_SHA
    assert set(manifest.files) == set(tiny_gpt2_files)
    assert weights_store.weights_status(ENTRY, deep=True).state is WeightsState.COMPLETE
    assert not weights_store.staging_root(GPT2_ID).exists()


def test_revision_pinning_ignores_newer_main(
    hub_env: FakeHub, tiny_gpt2_files: dict[str, bytes]
) -> None:
    """The pinned commit's files are fetched even though `main` moved on; every URL names it."""
    download_model("gpt2", ENTRY)
    assert b'"newer"' not in (_folder() / "config.json").read_bytes()
    paths = [r.path for r in hub_env.requests if "/resolve/" in r.path or "/api/" in r.path]
    assert paths and all(GPT2_SHA in p for p in paths)
    assert not any("/main" in p or NEWER_SHA in p for p in paths)


def test_new_pin_makes_folder_incomplete_and_refetches(hub_env: FakeHub) -> None:
    """Changing the registry's version marks the folder stale; downloading gets the new commit."""
    download_model("gpt2", ENTRY)
    newer = ModelEntry(model_id=GPT2_ID, version=NEWER_SHA)
    status = weights_store.weights_status(newer)
    assert status.state is WeightsState.INCOMPLETE
    assert "registry pins 111111111111" in status.reason
    download_model("gpt2", newer)
    assert b'"newer": true' in (_folder() / "config.json").read_bytes()


def test_filelist_fetches_only_listed_files(hub_env: FakeHub) -> None:
    """Only the registry's `filelist` is requested and kept."""
    entry = ModelEntry(
        model_id=GPT2_ID, version=GPT2_SHA, filelist=["config.json", "tokenizer.json"]
    )
    download_model("gpt2", entry)
    on_disk = {p.name for p in _folder().iterdir()}
    assert on_disk == {"config.json", "tokenizer.json", weights_store.MANIFEST_NAME}
    assert not any("safetensors" in r.path for r in hub_env.data_requests())


def test_filelist_naming_absent_file_is_clear(hub_env: FakeHub) -> None:
    """A filelist entry the model lacks names the file and the registry field to fix."""
    entry = ModelEntry(model_id=GPT2_ID, version=GPT2_SHA, filelist=["config.json", "nope.bin"])
    with pytest.raises(MissingFileError, match=r"has no file nope.bin; fix 'filelist' of entry"):
        download_model("gpt2", entry)
    assert not _folder().exists()


def test_skip_if_complete_makes_no_transfer(hub_env: FakeHub) -> None:
    """A second download of a verified complete folder transfers nothing and says so."""
    download_model("gpt2", ENTRY)
    hub_env.reset_log()
    result = download_model("gpt2", ENTRY)
    assert result.skipped
    assert hub_env.requests == []


def test_truncated_file_is_detected_and_refetched(hub_env: FakeHub) -> None:
    """A file shorter than its manifest size marks the folder incomplete; download repairs it."""
    download_model("gpt2", ENTRY)
    weights = _folder() / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    status = weights_store.weights_status(ENTRY)
    assert status.state is WeightsState.INCOMPLETE
    assert "model.safetensors has 1000 bytes" in status.reason
    assert not download_model("gpt2", ENTRY).skipped
    assert weights_store.weights_status(ENTRY, deep=True).state is WeightsState.COMPLETE


def test_same_size_corruption_is_caught_by_download(hub_env: FakeHub) -> None:
    """A flipped byte keeps sizes equal: `download` re-hashes and fetches the model again."""
    download_model("gpt2", ENTRY)
    config = _folder() / "config.json"
    data = bytearray(config.read_bytes())
    data[5] ^= 0x01
    config.write_bytes(bytes(data))
    assert weights_store.weights_status(ENTRY).state is WeightsState.COMPLETE  # quick check
    assert weights_store.weights_status(ENTRY, deep=True).reason.endswith("sha256 mismatch)")
    assert not download_model("gpt2", ENTRY).skipped
    assert weights_store.weights_status(ENTRY, deep=True).state is WeightsState.COMPLETE


def test_folder_without_manifest_is_not_taken_as_complete(hub_env: FakeHub) -> None:
    """Files without a manifest (e.g. a copy that stopped) are replaced by a verified download."""
    _folder().mkdir(parents=True)
    (_folder() / "config.json").write_text("{}")
    assert weights_store.weights_status(ENTRY).state is WeightsState.UNVERIFIED
    assert not download_model("gpt2", ENTRY).skipped
    assert weights_store.weights_status(ENTRY, deep=True).state is WeightsState.COMPLETE


def test_resume_within_a_run_after_connection_drop(
    hub_env: FakeHub, tiny_gpt2_files: dict[str, bytes]
) -> None:
    """A dropped connection mid-file is resumed with a Range request, not restarted."""
    hub_env.faults.cut_after["model.safetensors"] = CHUNK + 512 * 1024
    hub_env.faults.cut_times["model.safetensors"] = 1
    download_model("gpt2", ENTRY)
    ranges = [r.headers.get("range") for r in hub_env.data_requests() if "/lfs/" in r.path]
    assert ranges == [None, f"bytes={CHUNK}-"]
    _assert_same_files(_folder(), tiny_gpt2_files)


def test_resume_across_runs_from_partial_file(
    hub_env: FakeHub, tiny_gpt2_files: dict[str, bytes]
) -> None:
    """Bytes left by an interrupted run are kept: the next run asks only for the rest."""
    partial = weights_store.partial_path(GPT2_ID, "model.safetensors")
    partial.parent.mkdir(parents=True)
    partial.write_bytes(tiny_gpt2_files["model.safetensors"][:CHUNK])
    assert weights_store.weights_status(ENTRY).state is WeightsState.PARTIAL
    download_model("gpt2", ENTRY)
    lfs = [r for r in hub_env.data_requests() if "/lfs/" in r.path]
    assert [r.headers.get("range") for r in lfs] == [f"bytes={CHUNK}-"]
    rest = len(tiny_gpt2_files["model.safetensors"]) - CHUNK
    assert hub_env.bytes_sent["model.safetensors"] == rest
    _assert_same_files(_folder(), tiny_gpt2_files)


def test_bad_partial_bytes_restart_the_file(
    hub_env: FakeHub, tiny_gpt2_files: dict[str, bytes]
) -> None:
    """A partial file with wrong bytes fails verification once, then the file is fetched whole."""
    partial = weights_store.partial_path(GPT2_ID, "model.safetensors")
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"\0" * CHUNK)
    download_model("gpt2", ENTRY)
    _assert_same_files(_folder(), tiny_gpt2_files)


def test_source_serving_wrong_bytes_leaves_no_folder(hub_env: FakeHub) -> None:
    """Bytes that do not match the hub's checksum fail the download; nothing looks complete."""
    hub_env.faults.wrong_bytes.add("model.safetensors")
    with pytest.raises(CorruptDownloadError, match=r"model.safetensors of .* sha256 mismatch"):
        download_model("gpt2", ENTRY)
    assert not _folder().exists()
    assert weights_store.weights_status(ENTRY).state is not WeightsState.COMPLETE


def test_offline_mode_fails_fast_without_network(
    hub_env: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HF_HUB_OFFLINE=1 gives one line naming the model and the way out; no request is made."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubOfflineError) as info:
        download_model("gpt2", ENTRY)
    assert str(info.value) == (
        f"cannot download {GPT2_ID} (gpt2): HF_HUB_OFFLINE is set; unset it, "
        "or fetch from S3 with --model-weights-prefix"
    )
    assert hub_env.requests == []


def test_unreachable_hub_fails_within_seconds(
    hub_env: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hub nobody listens on is one clear error in well under the client's retry budget."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("HF_ENDPOINT", dead)
    start = time.monotonic()
    with pytest.raises(HubUnreachableError, match=rf"cannot reach the Hugging Face hub at {dead}"):
        download_model("gpt2", ENTRY)
    assert time.monotonic() - start < 5


def test_unknown_revision_names_registry_field(hub_env: FakeHub) -> None:
    """A pin the hub does not have says which registry field to fix."""
    entry = ModelEntry(model_id=GPT2_ID, version="2" * 40)
    with pytest.raises(RevisionError, match=r"has no revision 2{40} .*fix 'version' of entry"):
        download_model("gpt2", entry)


def test_private_model_uses_hf_token(
    hub_env: FakeHub, monkeypatch: pytest.MonkeyPatch, tiny_gpt2_files: dict[str, bytes]
) -> None:
    """HF_TOKEN is sent as a bearer token; without it a private model is a clear access error."""
    hub_env.add_commit("me/private", GPT2_SHA, {"config.json": b"{}"}, token=TOKEN)
    entry = ModelEntry(model_id="me/private", version=GPT2_SHA)
    with pytest.raises(HubAccessError, match=r"set HF_TOKEN for a private model") as info:
        download_model("private", entry)
    assert TOKEN not in str(info.value)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    download_model("private", entry)
    assert any(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in hub_env.requests)


def test_ensure_weights_checks_then_downloads(
    hub_env: FakeHub, registry_file: Path
) -> None:
    """Without download_missing a missing model is an error naming the fix; with it, fetched."""
    write_registry(registry_file, {"gpt2": {"model_id": GPT2_ID, "version": GPT2_SHA}})
    with pytest.raises(WeightsNotReadyError, match=r"curate model download --models gpt2"):
        ensure_weights([GPT2_ID], download_missing=False, models_config=registry_file)
    assert hub_env.requests == []
    ensure_weights([GPT2_ID], download_missing=True, models_config=registry_file)
    assert weights_store.weights_status(ENTRY).state is WeightsState.COMPLETE
    hub_env.reset_log()
    ensure_weights([GPT2_ID, GPT2_ID], download_missing=False, models_config=registry_file)
    assert hub_env.requests == []


def test_ensure_weights_accepts_hand_placed_unregistered_model(registry_file: Path) -> None:
    """A model id outside the registry passes when its folder has files, fails clearly if empty."""
    write_registry(registry_file, {})
    with pytest.raises(WeightsNotReadyError, match=r"not in the model registry"):
        ensure_weights(["me/local"], download_missing=True, models_config=registry_file)
    folder = get_local_dir_for_weights_name("me/local")
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({}))
    ensure_weights(["me/local"], download_missing=False, models_config=registry_file)
