"""`image-annotate`, then `image-dedup` and `image-shard`, on S3 prefixes (moto's S3 server on
127.0.0.1).

A user's runs: `curate pipeline run ...` with a named AWS profile and an endpoint URL, each
as the CLI runs it on this machine: in process or on its own embedded Ray, by the pipeline's
rule (the session Ray's workers cannot hold this module's credentials file).
One annotate run (tiny random CLIP, so embeddings are written to S3) serves every test. Two
files of the same name under different prefixes stay apart; a byte-identical copy under a
third prefix is the planted exact duplicate; a zero-byte file is a failure record, uploaded
beside the outputs.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image
from tests.core.weights.fixtures import moto_s3  # noqa: F401  (the moto server fixture)
from tests.pipelines.image import _images
from tests.pipelines.video import _synth
from tests.support import curate

from cosmos_curate.models.aesthetics import AESTHETIC_MODEL_ID
from cosmos_curate.models.clip import CLIP_MODEL_ID

pytestmark = pytest.mark.integration

PROFILE = "curate-test"
RAW, CURATED = "img-raw", "img-curated"


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
        "HF_HUB_OFFLINE": "1",
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


def _keys(client: Any, bucket: str, prefix: str) -> set[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {o["Key"] for p in pages for o in p.get("Contents", [])}


def _get(client: Any, key: str) -> bytes:
    body: bytes = client.get_object(Bucket=CURATED, Key=key)["Body"].read()
    return body


def _curate_on_s3(pipeline: str, args: list[str], s3: dict[str, Any]) -> Any:
    args = [*args, "--s3-profile", PROFILE, "--s3-endpoint-url", s3["endpoint"]]
    args += ["--no-progress", "--metrics-port", "0"]
    # generous: each run starts its own Ray; at load 60 on 2 cores the annotate run took 270 s
    return curate("pipeline", "run", pipeline, *args, env=s3["env"], timeout=900)


@pytest.fixture(scope="module")
def annotated(moto_s3: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # noqa: F811
    """The annotate run over `s3://img-raw/images` into `s3://img-curated/out`."""
    import torch

    tmp = tmp_path_factory.mktemp("annotate-s3")
    env = _env(tmp)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CURATE_WEIGHTS_DIR", env["CURATE_WEIGHTS_DIR"])
        torch.manual_seed(0)
        _synth.save_tiny_clip(CLIP_MODEL_ID)
        _synth.save_tiny_aesthetic_head(AESTHETIC_MODEL_ID)
    client = _client(moto_s3)
    for bucket in (RAW, CURATED):
        client.create_bucket(Bucket=bucket)
    files = {
        "images/a/cat.png": _images.save(
            tmp / "a.png", Image.fromarray(_images.picture(24, 24, 1))
        ),
        "images/b/cat.png": _images.save(
            tmp / "b.png", Image.fromarray(_images.picture(32, 24, 2))
        ),
        "images/empty.jpg": _images.empty_file(tmp / "e.jpg"),
    }
    files["images/c/copy-of-a.png"] = Path(shutil.copyfile(tmp / "a.png", tmp / "c.png"))
    for key, path in files.items():
        client.upload_file(str(path), RAW, key)
    s3 = {"endpoint": moto_s3, "env": env, "client": client, "files": files}
    args = ["--input-path", f"s3://{RAW}/images", "--output-path", f"s3://{CURATED}/out"]
    s3["result"] = _curate_on_s3("image-annotate", [*args, "--skip-captions"], s3)
    return s3


def test_s3_prefix_in_s3_prefix_out(annotated: dict[str, Any]) -> None:
    """Images, metadata, embeddings, the failure records and the summary land under the
    output prefix."""
    client, files, result = annotated["client"], annotated["files"], annotated["result"]
    assert result.returncode == 3, result.stderr[-3000:]
    keys = _keys(client, CURATED, "out/")
    images = sorted(k for k in keys if k.startswith("out/images/"))
    metas = sorted(k for k in keys if k.startswith("out/metas/"))
    assert len(images) == len(metas) == 3
    by_source = {}
    for key in metas:
        meta = json.loads(_get(client, key))
        by_source[meta["source"]] = meta
        stored = _get(client, "out/" + meta["image_path"])
        assert stored == files["images/" + meta["relative_path"]].read_bytes()
        vector = np.load(io.BytesIO(_get(client, "out/" + meta["embedding_path"])))
        assert vector.shape == (meta["embedding_dim"],)
    assert set(by_source) == {
        f"s3://{RAW}/images/{k}" for k in ("a/cat.png", "b/cat.png", "c/copy-of-a.png")
    }
    summary = json.loads(_get(client, "out/summary.json"))
    assert summary["num_images_passed"] == 3 and summary["failures"] == 1
    assert summary["failures_path"].startswith(f"s3://{CURATED}/out/failures/")
    assert "empty file" in summary["failure_records"][0]["error"]
    assert any(k.startswith("out/failures/") for k in keys)


def test_dedup_then_shard_on_s3(annotated: dict[str, Any], tmp_path: Path) -> None:
    """image-dedup reads the annotate output from S3 and writes its results there; image-shard
    honours them: the copy is removed, and the tars on S3 hold every other image (its
    original bytes, metadata and embedding), readable by webdataset."""
    import webdataset

    client, files = annotated["client"], annotated["files"]
    out, dedup = f"s3://{CURATED}/out", f"s3://{CURATED}/dedup"
    result = _curate_on_s3(
        "image-dedup",
        ["--input-path", out, "--output-path", dedup, "--n-clusters", "1", "--eps", "0.01"],
        annotated,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(_get(client, "dedup/summary.json"))
    assert summary["exact_duplicates_removed"] == 1
    assert summary["images_with_embedding"] == 2  # the embeddings read from S3
    exact = pq.read_table(io.BytesIO(_get(client, "dedup/extraction/exact_duplicates.parquet")))
    metas = [json.loads(_get(client, k)) for k in sorted(_keys(client, CURATED, "out/metas/"))]
    ids = {m["relative_path"]: m["image_id"] for m in metas}
    original, copy = sorted((ids["a/cat.png"], ids["c/copy-of-a.png"]))  # the smaller id stays
    assert exact.column("id").to_pylist() == [copy]
    assert exact.column("duplicate_of").to_pylist() == [original]

    result = _curate_on_s3(
        "image-shard",
        ["--input-path", out, "--output-path", f"s3://{CURATED}/shards", "--dedup-path", dedup,
         "--eps", "0.01"],
        annotated,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    samples: dict[str, dict[str, Any]] = {}
    for n, key in enumerate(
        sorted(k for k in _keys(client, CURATED, "shards/") if k.endswith(".tar"))
    ):
        local = tmp_path / f"{n}.tar"
        local.write_bytes(_get(client, key))
        for sample in webdataset.WebDataset(str(local), shardshuffle=False):
            assert sample["__key__"] not in samples
            samples[sample["__key__"]] = sample
    kept = set(ids.values()) - {copy}
    assert set(samples) == kept
    for key, sample in samples.items():
        meta = json.loads(sample["json"])
        assert meta["image_id"] == key
        assert sample["png"] == files["images/" + meta["relative_path"]].read_bytes()
        assert np.load(io.BytesIO(sample["npy"])).shape == (meta["embedding_dim"],)
    index = json.loads(_get(client, "shards/index.json"))
    assert index["complete"] and index["images_not_written"] == 0
    assert index["images_removed_by_dedup"] == 1
