"""URLs to filesystems and the options record: what a user's path or URL turns into."""

from __future__ import annotations

import pickle
import uuid
from pathlib import Path

import pytest

from cosmos_curate.core.storage import (
    DataFolder,
    StorageBackendMissingError,
    StorageOptions,
    StorageURLError,
    parse_url,
)


@pytest.mark.parametrize(
    ("url", "protocol", "root", "shown"),
    [
        ("/data/out", "file", "/data/out", "/data/out/k.txt"),
        ("file:///data/out", "file", "/data/out", "/data/out/k.txt"),
        ("s3://bucket/pre/fix/", "s3", "bucket/pre/fix", "s3://bucket/pre/fix/k.txt"),
        ("s3://bucket", "s3", "bucket", "s3://bucket/k.txt"),
        ("gs://bucket/p", "gcs", "bucket/p", "gs://bucket/p/k.txt"),
        ("az://container/p", "abfs", "container/p", "az://container/p/k.txt"),
        ("abfs://container/p", "abfs", "container/p", "abfs://container/p/k.txt"),
        ("https://host/videos", "http", "https://host/videos", "https://host/videos/k.txt"),
    ],
)
def test_urls_map_to_one_filesystem_each(url: str, protocol: str, root: str, shown: str) -> None:
    """Each scheme names its fsspec protocol; keys join with `/` and show with the user's scheme."""
    location = parse_url(url)
    assert (location.protocol, location.root, location.url_of("k.txt")) == (protocol, root, shown)


def test_home_is_expanded() -> None:
    """`~/out` is the user's home folder, as on the command line."""
    assert parse_url("~/out").root == str(Path.home() / "out")


@pytest.mark.parametrize(("url", "says"), [("s3://", "bucket or container is missing"),
                                            ("az:///x", "bucket or container is missing"),
                                            ("ftp://host/x", "unknown storage scheme ftp://")])
def test_bad_urls_are_one_line_errors(url: str, says: str) -> None:
    """A URL with no bucket or an unknown scheme is refused before anything is opened."""
    with pytest.raises(StorageURLError, match=says) as info:
        DataFolder(url)
    assert url in str(info.value) and "\n" not in str(info.value)


def test_http_is_read_only(tmp_path: Path) -> None:
    """Writing to an http(s) URL is refused with one line; nothing is sent."""
    folder = DataFolder("https://127.0.0.1:9/videos")
    with pytest.raises(StorageURLError, match="read-only"):
        folder.write_bytes("x.mp4", b"x")
    with pytest.raises(StorageURLError, match="read-only"):
        folder.put_file(tmp_path / "x", "x.mp4")


def test_gcs_without_gcsfs_names_the_extra() -> None:
    """`gs://` needs the `gcs` extra; without gcsfs the error says what to install."""
    pytest.importorskip("fsspec")
    try:
        import gcsfs  # noqa: F401
    except ImportError:
        with pytest.raises(StorageBackendMissingError, match=r"cosmos-curate\[gcs\]"):
            _ = DataFolder("gs://bucket/p").fs
    else:
        assert type(DataFolder("gs://bucket/p").fs).__name__ == "GCSFileSystem"


def test_options_map_to_backend_arguments_in_one_place() -> None:
    """Profile, endpoint, account and timeout reach the backend that uses them, and only it."""
    options = StorageOptions(s3_profile="p", s3_endpoint_url="http://127.0.0.1:1",
                             azure_account_name="acct", gcs_project="proj", timeout_s=5)
    s3 = options.fs_kwargs("s3")
    assert (s3["profile"], s3["endpoint_url"]) == ("p", "http://127.0.0.1:1")
    assert s3["config_kwargs"]["connect_timeout"] == 5
    assert options.fs_kwargs("abfs") == {"account_name": "acct"}
    assert options.fs_kwargs("gcs") == {"project": "proj"}
    assert StorageOptions(s3_profile="", s3_endpoint_url="").fs_kwargs("s3") == {}
    assert pickle.loads(pickle.dumps(options)) == options


def test_named_profile_reaches_s3(
    moto_s3: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`s3_profile` selects a profile of AWS_CONFIG_FILE: its endpoint and credentials are used.

    The default profile points at a closed port, so only the named one can reach moto.
    """
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text(
        "[default]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:9\n"
        f"[profile curate-test]\nregion = us-east-1\nendpoint_url = {moto_s3}\n"
    )
    credentials.write_text(
        "[curate-test]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE",
                 "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    bucket = f"p-{uuid.uuid4().hex[:12]}"
    folder = DataFolder(f"s3://{bucket}/x", StorageOptions(s3_profile="curate-test"))
    folder.fs.mkdir(bucket)
    folder.write_bytes("k.txt", b"via profile")
    assert folder.read_bytes("k.txt") == b"via profile"
    assert [e.key for e in folder.list()] == ["k.txt"]
