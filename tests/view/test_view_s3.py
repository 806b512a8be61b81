"""`curate view s3://...`: an output on S3 (moto's server on 127.0.0.1), served as a local one.

The output is the small real video-split output of `_output.make_output`, uploaded key by
key; the viewer runs as a real process with `--s3-profile` (a credentials file) and
`--s3-endpoint-url`, as a user would point it at MinIO or a bucket. What is refused before
anything is served (one `error:` line, exit 2) runs through the CLI's entry point in process.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from tests.core.storage.backends import azurite  # noqa: F401  (the Azurite fixture)
from tests.core.weights.fixtures import moto_s3  # noqa: F401  (the moto server fixture)
from tests.support import CliResult, curate_in_process, free_port
from tests.view._output import (
    EMBEDDINGS,
    Viewer,
    dedup_and_shard,
    get,
    get_json,
    make_output,
)

from cosmos_curate.core.runs.run import create_run
from cosmos_curate.core.runs.summary import save_run
from cosmos_curate.core.storage.failures import Failure, classify
from cosmos_curate.core.storage.filesystems import filesystem

pytestmark = pytest.mark.integration

PROFILE = "view-test"
BUCKET = "views"
PREFIX = "runs/a/clips"
KITE0, KITE60, CITY = EMBEDDINGS


def _client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("s3", endpoint_url=endpoint)


def _aws_env(tmp: Path) -> dict[str, str]:
    """The environment of a user whose credentials are the profile PROFILE of a file."""
    credentials = tmp / "aws_credentials"
    credentials.write_text(
        f"[{PROFILE}]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    env = {
        **os.environ,
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_CONFIG_FILE": str(tmp / "no_aws_config"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):  # fmt: skip
        env.pop(name, None)
    return env


def _upload(client: Any, folder: Path, prefix: str) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        key = f"{prefix}/{path.relative_to(folder).as_posix()}"
        client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())


def _start(uploaded: tuple[Path, Path, str], url: str, *args: str) -> Viewer:
    """`curate view URL` with the profile and endpoint, as a user whose AWS profile it is."""
    out, runs, endpoint = uploaded
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("AWS_")]:
            mp.delenv(name)
        for name, value in _aws_env(out.parent).items():
            if name.startswith("AWS_"):
                mp.setenv(name, value)
        return Viewer.start(
            url, runs, "--s3-profile", PROFILE, "--s3-endpoint-url", endpoint, *args
        )


@pytest.fixture(scope="module")
def uploaded(
    moto_s3: str,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, str]:
    """(the local output, its runs folder, the moto endpoint): the output copied to S3."""
    root = tmp_path_factory.mktemp("view-s3")
    runs = root / "runs"
    out = make_output(root, runs)
    client = _client(moto_s3)
    client.create_bucket(Bucket=BUCKET)
    _upload(client, out, PREFIX)
    run = create_run("video-split", root=runs)  # a run whose output was the bucket's prefix
    save_run(run, {"pipeline": "video-split", "outputs_path": f"s3://{BUCKET}/{PREFIX}/"}, "")
    (run.folder / "report.html").write_text("<html><body>the S3 run's report</body></html>")
    return out, runs, moto_s3


@pytest.fixture(scope="module")
def viewer(uploaded: tuple[Path, Path, str]) -> Iterator[Viewer]:
    served = _start(uploaded, f"s3://{BUCKET}/{PREFIX}")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def dedup_and_shard_urls(
    ray_cluster: dict[str, object], uploaded: tuple[Path, Path, str]
) -> tuple[str, str]:
    """The real video-dedup and video-shard outputs of the split, uploaded beside it."""
    out = uploaded[0]
    dedup, shards = dedup_and_shard(out.parent, out)
    client = _client(uploaded[2])
    _upload(client, dedup, "runs/a/dedup")
    _upload(client, shards, "runs/a/shards")
    return f"s3://{BUCKET}/runs/a/dedup", f"s3://{BUCKET}/runs/a/shards"


def test_grid_and_clip_pages_come_from_the_bucket(viewer: Viewer) -> None:
    """The grid lists the uploaded kept clips with their previews; a clip's record is read."""
    data = get_json(viewer.base() + "api/items")
    assert data["kind"] == "video-split" and data["total"] == 3
    assert data["root"] == f"s3://{BUCKET}/{PREFIX}"
    items = data["items"]
    assert isinstance(items, list)
    assert sorted(i["id"] for i in items) == [
        "city-0002_0000000_0000060",
        "kite-0001_0000000_0000060",
        "kite-0001_0000060_0000120",
    ]
    status, headers, body = get(viewer.base() + items[0]["preview"].lstrip("/"))
    assert status == 200 and headers["content-type"] == "image/webp" and body[8:12] == b"WEBP"
    record = get_json(viewer.base() + "api/item/kite-0001_0000000_0000060")["record"]
    assert isinstance(record, dict) and record["windows"][1]["caption"] == "The kite dips low."


def test_clip_video_is_streamed_with_ranges(
    viewer: Viewer, uploaded: tuple[Path, Path, str]
) -> None:
    """A clip's mp4: whole, a byte range (206, exactly those bytes) and the last N bytes."""
    item = get_json(viewer.base() + "api/item/kite-0001_0000000_0000060")
    key = str(item["media"]).removeprefix("/files/")
    whole = (uploaded[0] / key).read_bytes()
    status, headers, body = get(viewer.base() + "files/" + key)
    assert status == 200 and body == whole and headers["content-type"] == "video/mp4"
    assert headers["accept-ranges"] == "bytes"
    status, headers, body = get(viewer.base() + "files/" + key, {"Range": "bytes=1000-1999"})
    assert status == 206 and body == whole[1000:2000]
    assert headers["content-range"] == f"bytes 1000-1999/{len(whole)}"
    status, _, body = get(viewer.base() + "files/" + key, {"Range": "bytes=-100"})
    assert status == 206 and body == whole[-100:]
    status, headers, _ = get(viewer.base() + "files/" + key, {"Range": f"bytes={len(whole)}-"})
    assert status == 416 and headers["content-range"] == f"bytes */{len(whole)}"


def test_dropped_failures_and_report_from_the_bucket(viewer: Viewer) -> None:
    """Dropped clips with reasons, the failure record and the run's report (found by URL)."""
    dropped = get_json(viewer.base() + "api/items?view=dropped")
    assert dropped["reasons"] == {"aesthetic": 1, "motion": 1}
    failures = get_json(viewer.base() + "api/failures")["failures"]
    assert isinstance(failures, list) and [f["stage"] for f in failures] == ["TranscodeStage"]
    status, _, body = get(viewer.base() + "report")
    assert status == 200 and b"the S3 run's report" in body


@pytest.mark.parametrize("key", ["files/..%2Fsecret", "files/clips/../metas", "files/nope.mp4"])
def test_nothing_else_is_served(viewer: Viewer, key: str) -> None:
    """Keys that are not plain keys of the output, or missing ones: 404."""
    assert get(viewer.base() + key)[0] == 404


def test_dedup_and_shard_outputs_on_s3_with_their_split_on_s3(
    uploaded: tuple[Path, Path, str], dedup_and_shard_urls: tuple[str, str]
) -> None:
    """The dedup view's pairs and a shard tar's samples and members, all read from the bucket."""
    split = f"s3://{BUCKET}/{PREFIX}"
    dedup = _start(uploaded, dedup_and_shard_urls[0], "--split", split)
    try:
        data = get_json(dedup.base() + "api/dedup?eps=0.05")
        assert data["root"] == dedup_and_shard_urls[0] and data["removed"] == 1
        [pair] = data["pairs"]  # type: ignore[misc]
        assert (pair["removed"]["id"], pair["duplicate_of"]["id"]) == (KITE0, KITE60)
        status, _, body = get(dedup.base() + pair["removed"]["media"].lstrip("/"))
        assert status == 200 and body[4:8] == b"ftyp"
    finally:
        dedup.stop()
    shards = _start(uploaded, dedup_and_shard_urls[1], "--split", split)
    try:
        [bucket] = get_json(shards.base() + "api/shards")["buckets"]  # type: ignore[misc]
        [tar] = bucket["tars"]
        samples = get_json(shards.base() + "api/tar/" + tar["path"])["samples"]
        assert sorted(s["key"] for s in samples) == sorted([KITE60, CITY])  # type: ignore[attr-defined]
        whole = (uploaded[0] / "clips" / f"{CITY}.mp4").read_bytes()
        url = f"{shards.base()}member/{tar['path']}?name={CITY}.mp4"
        assert get(url)[2] == whole
        status, headers, body = get(url, {"Range": "bytes=100-299"})
        assert status == 206 and body == whole[100:300]
        assert headers["content-range"] == f"bytes 100-299/{len(whole)}"
    finally:
        shards.stop()


def _view(env: dict[str, str], *args: str) -> CliResult:
    """`curate view ARGS --port 0` in this process, with `env` as its whole environment.

    Every case below is refused before anything is served. fsspec keeps one store client per
    filesystem arguments, not per environment: the clients made under another environment
    (other credentials, another connection string) are dropped first.
    """
    with pytest.MonkeyPatch.context() as mp:
        for name in set(os.environ) - set(env):
            mp.delenv(name)
        for name, value in env.items():
            mp.setenv(name, value)
        for protocol in ("s3", "abfs"):
            fsspec.get_filesystem_class(protocol).clear_instance_cache()
        return curate_in_process("view", *args, "--port", "0")


def _rejected(result: CliResult, url: str, words: str) -> None:
    assert result.returncode == 2, (url, result.stderr[-2000:])
    assert result.stdout == "" and result.stderr.count("error:") == 1, result.stderr[-2000:]
    assert url in result.stderr and words in result.stderr, result.stderr


def test_bad_bucket_profile_prefix_or_credentials_are_one_error_line(
    uploaded: tuple[Path, Path, str], tmp_path: Path
) -> None:
    """A missing bucket, an unknown profile, an empty prefix, no credentials, an unknown
    scheme: one `error:` line naming the URL and the cause, exit 2, nothing served."""
    endpoint = uploaded[2]
    env = _aws_env(tmp_path)
    no_credentials = {**env, "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    cases = [
        (env, "s3://no-such-bucket/x", ("--s3-profile", PROFILE), "bucket does not exist"),
        (env, f"s3://{BUCKET}/{PREFIX}", ("--s3-profile", "nobody"), "no AWS profile 'nobody'"),
        (env, f"s3://{BUCKET}/empty", ("--s3-profile", PROFILE), "holds no files"),
        (no_credentials, f"s3://{BUCKET}/{PREFIX}", (), "no credentials"),
        (env, "ftp://host/out", (), "unknown storage scheme"),
    ]
    for case_env, url, args, words in cases:
        _rejected(_view(case_env, url, *args, "--s3-endpoint-url", endpoint), url, words)


def test_unreachable_endpoint_is_one_error_line(tmp_path: Path) -> None:
    """An endpoint nothing listens on: one `error:` line saying the store cannot be reached."""
    url = f"s3://{BUCKET}/{PREFIX}"
    dead = f"http://127.0.0.1:{free_port()}"
    result = _view(_aws_env(tmp_path), url, "--s3-profile", PROFILE, "--s3-endpoint-url", dead)
    _rejected(result, url, "cannot be reached")


def test_azure_missing_container_or_dead_endpoint_is_one_error_line(
    azurite: str,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
) -> None:
    """On Azure Blob (Azurite): a container that does not exist, and an endpoint nothing
    listens on, are each one `error:` line naming the URL and the cause, exit 2."""
    env = {**os.environ, "AZURE_STORAGE_CONNECTION_STRING": azurite}
    url = "az://no-such-container/clips"
    _rejected(_view(env, url), url, "container or bucket does not exist")
    port = azurite.split("BlobEndpoint=http://127.0.0.1:")[1].split("/", maxsplit=1)[0]
    dead = azurite.replace(f"127.0.0.1:{port}", f"127.0.0.1:{free_port()}")
    env = {**os.environ, "AZURE_STORAGE_CONNECTION_STRING": dead}
    _rejected(_view(env, url), url, "cannot be reached")


def test_a_refused_azure_connection_is_given_up_within_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing listens at the Azure endpoint: the store reports it unreachable in seconds, not
    after the SDK's default waits (15, 18 and 24 s, each +-3 s: at least 48 s). The bound sits
    between the two, wide enough for a loaded machine."""
    dead = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
        f"{base64.b64encode(b'key').decode()};BlobEndpoint=http://127.0.0.1:{free_port()}/x;"
    )
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", dead)
    started = time.monotonic()
    with pytest.raises(Exception) as raised:
        filesystem("abfs").ls("clips/x")
    assert classify(raised.value) == (Failure.UNREACHABLE, "ServiceRequestError")
    assert time.monotonic() - started < 30
