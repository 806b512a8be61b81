"""The storage backends the same tests run on: a local folder, S3 (moto), Azure Blob (Azurite).

Azurite is an npm package; it is installed once into a cache folder outside the clone
(`CURATE_AZURITE_DIR`, default `~/.cache/cosmos-curate-tests/azurite`), started per test
session on a free port of 127.0.0.1 and stopped by its PID. Tests that use `azurite` run in
the `storage` lane (tests/lanes.py).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.core.weights.fixtures import moto_s3
from tests.support import free_port

from cosmos_curate.core.storage import DataFolder, StorageOptions

__all__ = ["azurite", "backend_folder", "moto_s3"]

BACKENDS = ("local", "s3", "azure")
# Azurite's fixed development account (public, documented by Microsoft; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def azurite_dir() -> Path:
    """Where the azurite npm package is installed (outside the clone)."""
    default = Path.home() / ".cache" / "cosmos-curate-tests" / "azurite"
    return Path(os.environ.get("CURATE_AZURITE_DIR") or default)


def azurite_blob_exe() -> Path:
    """The `azurite-blob` executable, installed with npm on first use."""
    folder = azurite_dir()
    exe = folder / "node_modules" / ".bin" / "azurite-blob"
    if not exe.exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed (.ci/install_system_packages.sh installs it)")
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(folder), "azurite@3"],
            check=True, capture_output=True, timeout=600,
        )
    return exe


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"azurite-blob exited with {proc.returncode} before listening"
            raise RuntimeError(msg)
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    msg = f"azurite-blob did not listen on 127.0.0.1:{port} within {timeout:.0f} s"
    raise RuntimeError(msg)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An Azurite blob server on 127.0.0.1; yields its connection string."""
    exe = azurite_blob_exe()
    port = free_port()
    data = tmp_path_factory.mktemp("azurite")
    proc = subprocess.Popen(
        [str(exe), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(data),
         "--skipApiVersionCheck", "--silent"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, proc)
        yield (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
            f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _s3_folder(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> DataFolder:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    folder = DataFolder(f"s3://{bucket}/data", StorageOptions(s3_endpoint_url=endpoint))
    folder.fs.mkdir(bucket)
    return folder


def _azure_folder(connection: str, monkeypatch: pytest.MonkeyPatch) -> DataFolder:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection)
    container = f"c-{uuid.uuid4().hex[:12]}"
    folder = DataFolder(f"az://{container}/data")
    folder.fs.mkdir(container)
    return folder


@pytest.fixture(params=BACKENDS)
def backend_folder(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> DataFolder:
    """An empty `DataFolder` on each backend in turn (a fresh bucket or container each time)."""
    if request.param == "local":
        return DataFolder(str(tmp_path / "data"))
    if request.param == "s3":
        return _s3_folder(request.getfixturevalue("moto_s3"), monkeypatch)
    return _azure_folder(request.getfixturevalue("azurite"), monkeypatch)
