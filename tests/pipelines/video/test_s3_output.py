"""`video-split` from S3 to S3 against a real S3-compatible server (moto) on 127.0.0.1.

Runs `curate pipeline run video-split` as a user would, with `--s3-profile` (a named profile
in a credentials file) and `--s3-endpoint-url`, so the embedded Ray's workers reach S3 the
way a cluster's would. Then a rerun after a lost clip record redoes only that video.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.core.weights.fixtures import moto_s3  # noqa: F401  (the moto server fixture)
from tests.pipelines.video import _synth
from tests.support import curate, free_port

pytestmark = pytest.mark.integration

PROFILE = "curate-test"


def _client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("s3", endpoint_url=endpoint)


def _curate_split(tmp_path: Path, endpoint: str) -> subprocess.CompletedProcess[str]:
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
    for name in ("RAY_ADDRESS", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        env.pop(name, None)
    args = ["--input-path", "s3://split-raw/videos", "--output-path", "s3://split-curated/runs/a"]
    args += ["--s3-profile", PROFILE, "--s3-endpoint-url", endpoint]
    args += ["--splitting-algorithm", "shot", "--min-clip-len-s", "1", "--min-clip-len-frames", "0"]
    args += ["--crop-s", "0", "--no-embeddings", "--skip-captions", "--no-progress"]
    args += ["--metrics-port", str(free_port())]
    return curate("pipeline", "run", "video-split", *args, env=env, timeout=400)


def _keys(client: Any, prefix: str) -> dict[str, Any]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket="split-curated", Prefix=prefix)
    return {o["Key"]: o["LastModified"] for p in pages for o in p.get("Contents", [])}


def _summary(client: Any) -> dict[str, Any]:
    body = client.get_object(Bucket="split-curated", Key="runs/a/summary.json")["Body"].read()
    summary: dict[str, Any] = json.loads(body)
    return summary


def test_split_s3_to_s3_and_resume(moto_s3: str, tmp_path: Path) -> None:  # noqa: F811
    """Clips, metadata and summary land under the S3 prefix; a rerun redoes only what is lost."""
    client = _client(moto_s3)
    for bucket in ("split-raw", "split-curated"):
        client.create_bucket(Bucket=bucket)
    scenes = _synth.scenes_video(tmp_path / "scenes.mp4")[0]
    moving = _synth.static_then_moving_video(tmp_path / "still_then_moving.mp4")[0]
    client.upload_file(str(scenes), "split-raw", "videos/scenes.mp4")
    client.upload_file(str(moving), "split-raw", "videos/sub/still_then_moving.mp4")

    first = _curate_split(tmp_path, moto_s3)
    assert first.returncode == 0, first.stderr[-3000:]
    keys = _keys(client, "runs/a/")
    clips = sorted(k for k in keys if k.startswith("runs/a/clips/"))
    metas = sorted(k for k in keys if k.startswith("runs/a/metas/"))
    assert len(clips) == len(metas) == 5  # 3 shots + still shot + moving shot
    meta = json.loads(client.get_object(Bucket="split-curated", Key=metas[0])["Body"].read())
    assert meta["clip_location"].startswith("s3://split-curated/runs/a/clips/")
    assert meta["source_video"].startswith("s3://split-raw/videos/")
    assert _summary(client)["videos_completed"] == 2

    # Lose one clip record of the second video, as a run killed before its writer got there.
    lost = next(k for k in metas if "still_then_moving" in k)
    client.delete_object(Bucket="split-curated", Key=lost)
    before = {k: v for k, v in keys.items() if "scenes" in k and "/clips/" in k}
    second = _curate_split(tmp_path, moto_s3)
    assert second.returncode == 0, second.stderr[-3000:]
    summary = _summary(client)
    assert summary["videos_skipped_already_done"] == 1
    assert summary["videos_in"] == 1 and summary["videos_completed"] == 1
    after = _keys(client, "runs/a/")
    assert lost in after  # redone
    assert {k: after[k] for k in before} == before  # the finished video was not rewritten
