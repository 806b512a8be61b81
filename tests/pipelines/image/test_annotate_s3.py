"""`image-annotate` from an S3 prefix to an S3 prefix (moto's S3 server on 127.0.0.1).

A user's run: `curate pipeline run image-annotate` with a named AWS profile and an endpoint
URL, its own embedded Ray. Two files of the same name under different prefixes stay apart;
a zero-byte file is a failure record, uploaded beside the outputs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from tests.core.weights.fixtures import moto_s3  # noqa: F401  (the moto server fixture)
from tests.pipelines.image import _images
from tests.support import curate

pytestmark = pytest.mark.integration

PROFILE = "curate-test"


def _client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("s3", endpoint_url=endpoint)


def _env(tmp_path: Path) -> dict[str, str]:
    credentials = tmp_path / "aws_credentials"
    credentials.write_text(
        f"[{PROFILE}]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    env = {
        **os.environ,
        "CURATE_RUNS_DIR": str(tmp_path / "runs"),
        "CURATE_WEIGHTS_DIR": str(tmp_path / "weights"),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_CONFIG_FILE": str(tmp_path / "no_aws_config"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "RAY_AUTH_MODE": "disabled",
    }
    for name in (
        "RAY_ADDRESS",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
    ):
        env.pop(name, None)  # fmt: skip
    return env


def test_s3_prefix_in_s3_prefix_out(moto_s3: str, tmp_path: Path) -> None:  # noqa: F811
    """Images, metadata, the failure records and the summary land under the output prefix."""
    client = _client(moto_s3)
    for bucket in ("raw", "curated"):
        client.create_bucket(Bucket=bucket)
    files = {
        "images/a/cat.png": _images.save(
            tmp_path / "a.png", Image.fromarray(_images.picture(24, 24, 1))
        ),
        "images/b/cat.png": _images.save(
            tmp_path / "b.png", Image.fromarray(_images.picture(24, 24, 2))
        ),
        "images/empty.jpg": _images.empty_file(tmp_path / "e.jpg"),
    }
    for key, path in files.items():
        client.upload_file(str(path), "raw", key)
    args = ["--input-path", "s3://raw/images", "--output-path", "s3://curated/out"]
    args += ["--s3-profile", PROFILE, "--s3-endpoint-url", moto_s3]
    args += ["--skip-captions", "--no-embeddings", "--no-progress", "--metrics-port", "0"]
    result = curate("pipeline", "run", "image-annotate", *args, env=_env(tmp_path), timeout=400)

    assert result.returncode == 3, result.stderr[-3000:]
    pages = client.get_paginator("list_objects_v2").paginate(Bucket="curated", Prefix="out/")
    keys = {o["Key"] for p in pages for o in p.get("Contents", [])}
    images = sorted(k for k in keys if k.startswith("out/images/"))
    metas = sorted(k for k in keys if k.startswith("out/metas/"))
    assert len(images) == len(metas) == 2
    by_source = {}
    for key in metas:
        meta = json.loads(client.get_object(Bucket="curated", Key=key)["Body"].read())
        by_source[meta["source"]] = meta
        stored = client.get_object(Bucket="curated", Key="out/" + meta["image_path"])
        assert stored["Body"].read() == files["images/" + meta["relative_path"]].read_bytes()
    assert set(by_source) == {"s3://raw/images/a/cat.png", "s3://raw/images/b/cat.png"}
    summary = json.loads(client.get_object(Bucket="curated", Key="out/summary.json")["Body"].read())
    assert summary["num_images_passed"] == 2 and summary["failures"] == 1
    assert summary["failures_path"].startswith("s3://curated/out/failures/")
    assert "empty file" in summary["failure_records"][0]["error"]
    assert any(k.startswith("out/failures/") for k in keys)
