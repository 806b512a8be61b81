"""`--model-weights-prefix s3://...`: fetching weights from a moto S3 server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import uuid

import boto3
import pytest
from tests.core.weights.weights_testlib import GPT2_ID, GPT2_SHA

from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name
from cosmos_curate.core.weights import store as weights_store
from cosmos_curate.core.weights.download import download_model
from cosmos_curate.core.weights.errors import (
    MissingFileError,
    RevisionError,
    S3WeightsError,
    WeightsPrefixError,
)
from cosmos_curate.core.weights.registry import ModelEntry
from cosmos_curate.core.weights.store import FileRecord, Manifest, WeightsState

pytestmark = pytest.mark.integration
ENTRY = ModelEntry(model_id=GPT2_ID, version=GPT2_SHA)
FILES = {"config.json": b'{"n_layer": 1}', "sub/model.safetensors": bytes(range(256)) * 4096}


def _upload(s3_env: str, *, revision: str = GPT2_SHA, manifest: bool = True,
            verified: bool | None = True) -> str:
    """Put the FILES (and a manifest) under s3://<new bucket>/weights/<model id>/; return prefix.

    `verified`: what the uploaded manifest says of its own download (None: a manifest written
    before the field existed).
    """
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    client = boto3.client("s3")
    client.create_bucket(Bucket=bucket)
    for name, data in FILES.items():
        client.put_object(Bucket=bucket, Key=f"weights/{GPT2_ID}/{name}", Body=data)
    if manifest:
        records = {n: FileRecord(len(d), hashlib.sha256(d).hexdigest()) for n, d in FILES.items()}
        made = Manifest(GPT2_ID, revision, "hub", None, records, verified=bool(verified),
                        verified_against=f"hub revision {revision}" if verified else "")
        body = weights_store._manifest_to_json(made)
        if verified is None:
            raw = json.loads(body)
            del raw["verified"], raw["verified_against"]
            body = json.dumps(raw)
        client.put_object(Bucket=bucket, Key=f"weights/{GPT2_ID}/{weights_store.MANIFEST_NAME}",
                          Body=body.encode())
    return f"s3://{bucket}/weights"


def test_s3_prefix_download(s3_env: str) -> None:
    """Files under <prefix>/<model id>/ are fetched, verified and marked complete locally."""
    prefix = _upload(s3_env)
    result = download_model("gpt2", ENTRY, s3_prefix=prefix)
    folder = get_local_dir_for_weights_name(GPT2_ID)
    for name, data in FILES.items():
        assert (folder / name).read_bytes() == data
    status = weights_store.weights_status(ENTRY, deep=True)
    assert status.state is WeightsState.COMPLETE
    assert status.manifest is not None and status.manifest.source == prefix
    assert result.size == sum(len(d) for d in FILES.values())
    assert download_model("gpt2", ENTRY, s3_prefix=prefix).skipped
    assert status.manifest.verified
    assert status.manifest.verified_against == (
        f"sha256 in {prefix}/{GPT2_ID}/{weights_store.MANIFEST_NAME}, itself verified against "
        f"hub revision {GPT2_SHA}"
    )


@pytest.mark.parametrize(
    ("manifest", "verified"),
    [(False, True), (True, False), (True, None)],
    ids=["no-manifest", "unverified-manifest", "manifest-without-field"],
)
def test_s3_copy_not_verified_at_its_source_is_stamped_unverified(
    s3_env: str, manifest: bool, verified: bool | None
) -> None:
    """No S3 manifest, or one that was not itself verified: the local manifest says unverified.

    The folder is still complete (its files are what S3 served), but it does not read as the
    pinned, verified revision.
    """
    prefix = _upload(s3_env, manifest=manifest, verified=verified)
    download_model("gpt2", ENTRY, s3_prefix=prefix)
    status = weights_store.weights_status(ENTRY, deep=True)
    assert status.state is WeightsState.COMPLETE
    assert status.manifest is not None
    assert not status.manifest.verified
    assert status.manifest.verified_against == ""
    on_disk = json.loads((status.folder / weights_store.MANIFEST_NAME).read_text())
    assert on_disk["verified"] is False


def test_s3_filelist_and_missing_file(s3_env: str) -> None:
    """Only `filelist` is fetched; a listed file absent from S3 is a clear error."""
    prefix = _upload(s3_env, manifest=False)
    entry = ModelEntry(model_id=GPT2_ID, version=GPT2_SHA, filelist=["config.json"])
    download_model("gpt2", entry, s3_prefix=prefix)
    folder = get_local_dir_for_weights_name(GPT2_ID)
    assert sorted(p.name for p in folder.iterdir()) == [weights_store.MANIFEST_NAME, "config.json"]
    bad = ModelEntry(model_id=GPT2_ID, version=GPT2_SHA, filelist=["config.json", "x.bin"])
    with pytest.raises(MissingFileError, match=r"lacks x.bin listed in 'filelist' of entry 'gpt2'"):
        download_model("gpt2", bad, s3_prefix=prefix, force=True)


def test_s3_copy_of_other_revision_is_refused(s3_env: str) -> None:
    """An S3 copy whose manifest holds another revision than the registry pin is rejected."""
    prefix = _upload(s3_env, revision="3" * 40)
    with pytest.raises(RevisionError, match=r"is revision 333333333333 .* pins 607a30d783df"):
        download_model("gpt2", ENTRY, s3_prefix=prefix)
    assert not get_local_dir_for_weights_name(GPT2_ID).exists()


def test_s3_resumes_partial_transfer(s3_env: str) -> None:
    """Bytes kept from an interrupted S3 transfer are completed with a ranged GET."""
    prefix = _upload(s3_env)
    data = FILES["sub/model.safetensors"]
    partial = weights_store.partial_path(GPT2_ID, "sub/model.safetensors")
    partial.parent.mkdir(parents=True)
    partial.write_bytes(data[:5000])
    download_model("gpt2", ENTRY, s3_prefix=prefix)
    assert (get_local_dir_for_weights_name(GPT2_ID) / "sub/model.safetensors").read_bytes() == data


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("gs://bucket/x", "--model-weights-prefix 'gs://bucket/x' must look like s3://bucket"),
        ("s3://no-such-bucket-here/w", "does not exist; check --model-weights-prefix"),
        ("s3://{bucket}/empty", "no weights for openai-community/gpt2 (gpt2) under s3://"),
    ],
)
def test_s3_bad_prefixes(s3_env: str, prefix: str, expected: str) -> None:
    """Bad URLs, missing buckets and empty prefixes are one-line errors saying what to fix."""
    bucket = _upload(s3_env).split("/")[2]
    with pytest.raises((S3WeightsError, WeightsPrefixError)) as info:
        download_model("gpt2", ENTRY, s3_prefix=prefix.format(bucket=bucket))
    assert expected in str(info.value)
    assert "\n" not in str(info.value)
