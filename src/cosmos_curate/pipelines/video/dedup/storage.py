"""Files under a local folder or an `s3://bucket/prefix`, behind one small set of functions.

Paths are plain strings: a local path or an `s3://` URL. Writes are atomic and durable:
locally through `core.storage` (data fsynced, renamed into place, folder fsynced), on S3
through one PUT or a multipart upload, which S3 makes visible only once complete. boto3
reads credentials and `AWS_ENDPOINT_URL(_S3)` as usual.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cosmos_curate.core.storage import publish_bytes, publish_staged
from cosmos_curate.core.storage.publish import temp_name_for

# One definition of an S3 URL for every video pipeline.
from cosmos_curate.pipelines.video.storage import is_s3, split_s3

MULTIPART_THRESHOLD = 64 * 1024 * 1024
"""Uploads above this size go as S3 multipart uploads (parts of this size)."""


def join(base: str, *parts: str) -> str:
    """`base/part/...` for a local path or an S3 URL."""
    if is_s3(base):
        return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
    return str(Path(base).expanduser().joinpath(*parts))


def _client() -> Any:
    import boto3

    return boto3.client("s3")


def list_files(prefix: str) -> Iterator[tuple[str, int]]:
    """`(path relative to prefix, size in bytes)` of every file under `prefix`, sorted."""
    if is_s3(prefix):
        bucket, key = split_s3(prefix)
        key = key.rstrip("/") + "/" if key else ""
        found: list[tuple[str, int]] = []
        for page in _client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
            found += [(o["Key"][len(key) :], int(o["Size"])) for o in page.get("Contents", [])]
        yield from sorted(found)
        return
    root = Path(prefix).expanduser()
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            yield path.relative_to(root).as_posix(), path.stat().st_size


def is_dir(path: str) -> bool:
    """Whether a local folder exists, or an S3 prefix holds at least one object."""
    if is_s3(path):
        bucket, key = split_s3(path)
        key = key.rstrip("/") + "/" if key else ""
        reply = _client().list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        return bool(reply.get("KeyCount", 0))
    return Path(path).expanduser().is_dir()


def exists(path: str) -> bool:
    """Whether the file exists."""
    if is_s3(path):
        from botocore.exceptions import ClientError

        bucket, key = split_s3(path)
        try:
            _client().head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True
    return Path(path).expanduser().is_file()


def read_bytes(path: str) -> bytes:
    """The file's bytes; `FileNotFoundError` when it is missing."""
    if is_s3(path):
        from botocore.exceptions import ClientError

        bucket, key = split_s3(path)
        try:
            body: bytes = _client().get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise FileNotFoundError(path) from exc
            raise
        return body
    return Path(path).expanduser().read_bytes()


def write_bytes(path: str, data: bytes) -> None:
    """Write a whole file atomically (readers see the old file, or the new one whole)."""
    if is_s3(path):
        bucket, key = split_s3(path)
        _client().put_object(Bucket=bucket, Key=key, Body=data)
        return
    publish_bytes(Path(path).expanduser(), data)


def temp_file_for(path: str) -> Path:
    """A local scratch file to build `path` in before `publish` (beside it when local)."""
    if is_s3(path):
        from cosmos_curate.core.utils import settings

        folder = settings.runs_root() / "upload_scratch"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{uuid.uuid4().hex}.part"
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    return temp_name_for(target)


def publish(local_tmp: Path, path: str) -> None:
    """Make a finished scratch file visible at `path` at once: a durable rename, or an S3 upload.

    S3 uploads above `MULTIPART_THRESHOLD` go as a multipart upload, which S3 shows only
    after its completion; a crash mid-upload leaves no object. The scratch file is removed.
    """
    try:
        if is_s3(path):
            from boto3.s3.transfer import TransferConfig

            bucket, key = split_s3(path)
            config = TransferConfig(
                multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD
            )
            _client().upload_file(str(local_tmp), bucket, key, Config=config)
        else:
            publish_staged(local_tmp, Path(path).expanduser())
    finally:
        local_tmp.unlink(missing_ok=True)


def copy_s3(source: str, dest: str) -> None:
    """Copy one S3 object to another key (server side, multipart when large)."""
    src_bucket, src_key = split_s3(source)
    bucket, key = split_s3(dest)
    _client().copy({"Bucket": src_bucket, "Key": src_key}, bucket, key)


def delete_file(path: str) -> None:
    """Remove one file or S3 object (missing is fine)."""
    if is_s3(path):
        bucket, key = split_s3(path)
        _client().delete_object(Bucket=bucket, Key=key)
        return
    Path(path).expanduser().unlink(missing_ok=True)


def delete_tree(prefix: str) -> None:
    """Remove everything under `prefix` (a folder, or every object under an S3 prefix)."""
    if is_s3(prefix):
        bucket, key = split_s3(prefix)
        client = _client()
        keys = [key.rstrip("/") + "/" + rel for rel, _ in list_files(prefix)]
        for start in range(0, len(keys), 1000):
            objects = [{"Key": k} for k in keys[start : start + 1000]]
            client.delete_objects(Bucket=bucket, Delete={"Objects": objects})
        return
    shutil.rmtree(Path(prefix).expanduser(), ignore_errors=True)
