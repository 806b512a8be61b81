"""Remote file names (S3 keys, hub file lists) never place a byte outside the model's folder."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from tests.core.weights.fake_hf_hub import FakeHub
from tests.core.weights.weights_testlib import subprocess_env, write_registry

from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name
from cosmos_curate.core.weights import store as weights_store
from cosmos_curate.core.weights.errors import UnsafeRemoteNameError
from cosmos_curate.core.weights.names import check_remote_names

CURATE = str(Path(sys.executable).parent / "curate")
MODEL_ID = "evil/model"
SHA = "5" * 40
# From <weights>/.curate-staging/evil/model/files/ five `..` reach the test's tmp_path.
ESCAPE = "../../../../../pwned.txt"
GOOD = {"config.json": b'{"n_layer": 1}', "sub/weights.bin": b"w" * 4096}

def _staged() -> Path:
    return weights_store.staged_folder(MODEL_ID)


BAD_NAMES = [
    ESCAPE,
    "sub/../../x",
    "..",
    "/etc/passwd",
    "//x",
    "a//b",
    "./a",
    "a/./b",
    "dir/",
    "",
    "a\x00b",
    "a\nb",
    "tab\there",
    "del\x7fx",
    "..\\..\\x",
    "C:\\x",
    "a\\b",
]


@pytest.mark.parametrize("name", BAD_NAMES, ids=[repr(n) for n in BAD_NAMES])
def test_unsafe_name_is_refused_naming_it(name: str, isolated_dirs: Path) -> None:
    """Absolute, `..`, empty parts, control characters and backslashes: one line naming it."""
    with pytest.raises(UnsafeRemoteNameError) as info:
        check_remote_names(["config.json", name], _staged(), "s3://b/w/evil/model/")
    text = str(info.value)
    assert repr(name) in text and "s3://b/w/evil/model/" in text
    assert "\n" not in text
    assert not (isolated_dirs / "weights").exists(), "the check wrote something"


def test_ordinary_names_pass() -> None:
    """Nested paths, dots inside names and unicode are fine."""
    names = ["config.json", "a/b/c.safetensors", "..hidden", "x..y", ".gitattributes", "é.txt"]
    assert check_remote_names(names, _staged(), "hub") == names


def test_name_through_a_link_out_of_the_staging_folder_is_refused(tmp_path: Path) -> None:
    """A plain-looking name that resolves outside (a link left in the staging folder)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    _staged().mkdir(parents=True)
    (_staged() / "sub").symlink_to(outside)
    with pytest.raises(UnsafeRemoteNameError, match=r"'sub/x\.bin', which resolves outside"):
        check_remote_names(["sub/x.bin"], _staged(), "hub")


def _curate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CURATE, *args], capture_output=True, text=True, timeout=120,
                          env=subprocess_env(COLUMNS="200"), check=False)


def _assert_refused_and_nothing_written(
    proc: subprocess.CompletedProcess[str], tmp_path: Path, before: set[Path]
) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and repr(ESCAPE) in lines[0]
    assert not any(p.name == "pwned.txt" for p in tmp_path.parent.rglob("*"))
    assert not get_local_dir_for_weights_name(MODEL_ID).exists()
    assert not weights_store.staging_root(MODEL_ID).exists()
    new = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    # Only the per-model lock file every download takes (empty) may appear.
    assert {p.name for p in new} <= {".model.lock"}, new


@pytest.mark.integration
def test_s3_key_escaping_the_model_folder_writes_nothing(
    s3_env: str, registry_file: Path, tmp_path: Path
) -> None:
    """A key `<prefix>/<model>/../../../../../pwned.txt` on a real S3 server: exit 2, no file."""
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    client = boto3.client("s3")
    client.create_bucket(Bucket=bucket)
    for name, data in {**GOOD, ESCAPE: b"owned"}.items():
        client.put_object(Bucket=bucket, Key=f"weights/{MODEL_ID}/{name}", Body=data)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert f"weights/{MODEL_ID}/{ESCAPE}" in keys  # the server keeps the key as written
    write_registry(registry_file, {"evil": {"model_id": MODEL_ID, "version": SHA}})
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    proc = _curate("model", "download", "--models", "evil", "--models-config", str(registry_file),
                   "--model-weights-prefix", f"s3://{bucket}/weights")
    _assert_refused_and_nothing_written(proc, tmp_path, before)


@pytest.mark.integration
def test_hub_file_list_escaping_the_model_folder_writes_nothing(
    hub_env: FakeHub, registry_file: Path, tmp_path: Path
) -> None:
    """A hub (or mirror) listing `../../../../../pwned.txt` among the files: exit 2, no file."""
    hub_env.add_commit(MODEL_ID, SHA, {**GOOD, ESCAPE: b"owned"})
    write_registry(registry_file, {"evil": {"model_id": MODEL_ID, "version": SHA}})
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    proc = _curate("model", "download", "--models", "evil", "--models-config", str(registry_file))
    _assert_refused_and_nothing_written(proc, tmp_path, before)
    assert not hub_env.data_requests(), "a file was fetched before the whole list was checked"
