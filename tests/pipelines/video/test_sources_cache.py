"""`sources.local_path`: an S3 input is downloaded once per node into the runs folder's cache,
published through `core.storage` (unique temporary names, never a half-written file).

Against a real S3-compatible server (moto) on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from tests.core.weights.fixtures import moto_s3  # noqa: F401  (the moto server fixture)

from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.core.utils import settings
from cosmos_curate.pipelines.video import sources

DATA = bytes(range(256)) * 4096  # 1 MiB
# The moto server is the session's: a bucket name no other test module uses (this one's
# non-video object once turned up in another module's listing of its inputs).
BUCKET = "sources-cache"


@pytest.fixture
def bucket(moto_s3: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    """A bucket `BUCKET` holding `videos/a.mp4`; the runs folder under tmp_path."""
    import boto3

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CURATE_RUNS_DIR", str(tmp_path / "runs"))
    client: Any = boto3.client("s3", endpoint_url=moto_s3)
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key="videos/a.mp4", Body=DATA)
    return moto_s3


def test_concurrent_downloads_of_one_input_give_one_whole_file(bucket: str) -> None:
    """Eight threads of one worker asking for the same S3 video all get the whole file, and
    the cache holds that one file and nothing half-written (they once shared a
    `<name>.<pid>.part`, so one thread's rename pulled the file from under another)."""
    options = StorageOptions(s3_endpoint_url=bucket)
    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(lambda _: sources.local_path(f"s3://{BUCKET}/videos/a.mp4", options),
                              range(8)))
    assert len(set(paths)) == 1
    assert hashlib.sha256(paths[0].read_bytes()).digest() == hashlib.sha256(DATA).digest()
    assert [p.name for p in paths[0].parent.iterdir()] == [paths[0].name]


def test_a_failed_download_leaves_nothing_in_the_cache(bucket: str) -> None:
    """A missing object is an error, and no temporary file is left behind in the cache."""
    options = StorageOptions(s3_endpoint_url=bucket)
    with pytest.raises(FileNotFoundError):
        sources.local_path(f"s3://{BUCKET}/videos/missing.mp4", options)
    cache = settings.runs_root() / "video_cache"
    assert (sorted(p.name for p in cache.iterdir()) if cache.exists() else []) == []
