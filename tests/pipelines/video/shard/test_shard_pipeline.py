"""`video-shard` on a prepared split output: dedup filter, buckets, resume, atomic tars, S3."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import free_port
from tests.pipelines.video.dedup import _fake_split

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.pipelines.video.dedup.pipeline import VideoDedupOptions, dedup_videos
from cosmos_curate.pipelines.video.shard.dedup_filter import DedupPathError
from cosmos_curate.pipelines.video.shard.options import VideoShardOptions
from cosmos_curate.pipelines.video.shard.pipeline import ShardPlanError, shard_videos

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def prepared(
    ray_cluster: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, dict[str, list[str]]]:
    split, dedup = tmp_path_factory.mktemp("split"), tmp_path_factory.mktemp("dedup")
    roles = _fake_split.make_dataset(split)
    options = VideoDedupOptions(
        input_path=str(split), output_path=str(dedup), n_clusters=2, workers_per_stage=1
    )
    dedup_videos(options, RunOptions(metrics_port=None))
    return split, dedup, roles


@pytest.fixture(scope="module")
def sharded(
    prepared: tuple[Path, Path, dict[str, list[str]]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Any]:
    """One finished shard run with the default test options: its folder and result. Tests
    that change the folder work on a copy (`_copy`)."""
    split, dedup, _ = prepared
    out = tmp_path_factory.mktemp("sharded") / "shards"
    return out, shard_videos(_options(split, dedup, out), RunOptions(metrics_port=None))


def _copy(sharded: tuple[Path, Any], tmp_path: Path) -> Path:
    """A copy of the finished shard folder (file times kept), as that run left it."""
    out = tmp_path / "shards"
    shutil.copytree(sharded[0], out)
    return out


def _options(split: Path, dedup: Path, out: Path, **extra: Any) -> VideoShardOptions:
    values: dict[str, Any] = {
        "input_path": str(split), "output_path": str(out), "dedup_path": str(dedup),
        "target_tar_size_mb": 0.004, "max_tars_per_part": 3, "workers_per_stage": 1,
    }  # fmt: skip
    return VideoShardOptions(**(values | extra))


def _keys(out: Path) -> list[str]:
    import webdataset as wds

    tars = sorted(str(p) for p in out.rglob("*.tar"))
    return [s["__key__"] for s in wds.WebDataset(tars, shardshuffle=False)]


def test_shards_leave_out_duplicates_and_list_the_unreadable_video(
    prepared: tuple[Path, Path, dict[str, list[str]]], sharded: tuple[Path, Any]
) -> None:
    """Samples = all clips - one per planted pair - the unreadable video; the 3 s clip: `other`."""
    _, _, roles = prepared
    out, result = sharded
    keys = _keys(out)
    assert len(keys) == len(set(keys)) == 24 + 2 + 1 + 1  # distinct, parquet, bare, short
    assert result.num_failures == 1  # the broken .npy: recorded, left out of the plan
    record = json.loads(Path(result.failures_path).read_text().splitlines()[0])
    assert "bad-0000eeee" in record["task_repr"] and record["stage"] == "ReadClipInfoStage"
    for original, copy in zip(roles["distinct"][:4], roles["pairs"], strict=True):
        assert len({original, copy} & set(keys)) == 1
    index = json.loads((out / "index.json").read_text())
    assert index["clips_unbucketed"] == {"duration": 1}
    assert index["clips_removed_by_dedup"] == 4 and index["complete"]
    assert index["clips_not_written_by_reason"] == {"unreadable": 1}
    (listed,) = map(json.loads, (out / "not_written.jsonl").read_text().splitlines())
    assert listed["clip_id"] == roles["corrupt"][0] and listed["reason"] == "unreadable"
    other, bucket = index["buckets"]
    assert other == {"bucket": "other", "samples": 1, "tars": 1, "tars_planned": 1,
                     "wdinfo": "other/wdinfo.json"}  # fmt: skip
    wdinfo = json.loads((out / bucket["wdinfo"]).read_text())
    assert wdinfo["total_key_count"] == 27 and len(wdinfo["data_list"]) == bucket["tars"] > 3
    assert any("part_000001" in t for t in wdinfo["data_list"])  # 3 tars per part
    assert (out / "wdinfo_list.csv").read_text().strip().endswith("wdinfo.json")


def test_a_rerun_writes_only_the_missing_tars(
    prepared: tuple[Path, Path, dict[str, list[str]]],
    sharded: tuple[Path, Any],
    tmp_path: Path,
) -> None:
    """After a crash (one tar gone, a half-written scratch file left) a rerun finishes the job."""
    split, dedup, _ = prepared
    out = _copy(sharded, tmp_path)
    options = _options(split, dedup, out)
    tars = sorted(out.rglob("*.tar"))
    lost = tars[1]
    lost.unlink()
    (lost.parent / f".{lost.name}.123.abcdef.part").write_bytes(b"half a tar")
    before = {p: p.stat().st_mtime_ns for p in tars if p != lost}
    shard_videos(options, RunOptions(metrics_port=None))
    assert lost.is_file()
    assert {p: p.stat().st_mtime_ns for p in before} == before  # finished tars untouched
    index = json.loads((out / "index.json").read_text())
    assert index["tars_written_this_run"] == 1 and index["complete"]
    assert sorted(_keys(out)) == sorted(set(_keys(out)))


def test_a_rerun_with_other_options_is_refused(
    prepared: tuple[Path, Path, dict[str, list[str]]],
    sharded: tuple[Path, Any],
    tmp_path: Path,
) -> None:
    """Another tar size would re-cut finished tars: refused, naming a new output path."""
    split, dedup, _ = prepared
    out = _copy(sharded, tmp_path)
    with pytest.raises(ShardPlanError, match="new --output-path"):
        shard_videos(
            _options(split, dedup, out, target_tar_size_mb=1), RunOptions(metrics_port=None)
        )


def test_a_dedup_path_without_tables_is_refused(
    prepared: tuple[Path, Path, dict[str, list[str]]], tmp_path: Path
) -> None:
    """`--dedup-path` pointing at a folder with no pruning tables: an error before any work."""
    split, _, _ = prepared
    with pytest.raises(DedupPathError, match="video-dedup"):
        shard_videos(_options(split, tmp_path, tmp_path / "o"), RunOptions(metrics_port=None))
    assert not (tmp_path / "o").exists()


def test_any_eps_works_from_the_full_tables(
    prepared: tuple[Path, Path, dict[str, list[str]]], tmp_path: Path
) -> None:
    """An eps the dedup run did not write is applied to the full tables (0.3 removes more)."""
    split, dedup, _ = prepared
    out = tmp_path / "shards"
    shard_videos(_options(split, dedup, out, eps=0.9), RunOptions(metrics_port=None))
    index = json.loads((out / "index.json").read_text())
    assert index["clips_removed_by_dedup"] > 4


def _curate(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cosmos_curate.cli.main", "pipeline", "run", *args,
         "--num-cpus", "2", "--metrics-port", str(free_port()), "--no-progress",
         "--workers-per-stage", "1"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _profiles(tmp_path: Path, endpoint: str) -> dict[str, str]:
    """An AWS config + credentials in tmp_path: `curate-test` (no endpoint: the command gives
    it), `reader` and `writer` (with the endpoint); the default profile has no keys and a
    closed port, so only a profile the command names reaches S3. Returns the environment."""
    config, credentials = tmp_path / "aws_config", tmp_path / "aws_credentials"
    config.write_text(
        "[default]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:9\n"
        "[profile curate-test]\nregion = us-east-1\n"
        f"[profile reader]\nregion = us-east-1\nendpoint_url = {endpoint}\n"
        f"[profile writer]\nregion = us-east-1\nendpoint_url = {endpoint}\n"
    )
    credentials.write_text("".join(
        f"[{name}]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
        for name in ("curate-test", "reader", "writer")
    ))  # fmt: skip
    env = {
        **os.environ, "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials), "AWS_EC2_METADATA_DISABLED": "true",
        "RAY_AUTH_MODE": "disabled", "CURATE_RUNS_DIR": str(tmp_path / "runs"),
    }  # fmt: skip
    for name in (
        "RAY_ADDRESS",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
    ):
        env.pop(name, None)
    return env


def test_cli_dedup_and_shard_on_s3_with_named_profiles(tmp_path: Path) -> None:
    """`video-dedup` with `--s3-profile` + `--s3-endpoint-url`, then `video-shard` with
    `--input-s3-profile-name` and `--output-s3-profile-name` (no `--s3-profile`): a side that
    ignored its option would fall back to the unusable default profile and fail."""
    import boto3
    import webdataset as wds
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        env = _profiles(tmp_path, endpoint)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
        # moto keeps one store per process, shared with the session's server: names of our own
        s3.create_bucket(Bucket="shard-data")
        s3.create_bucket(Bucket="shard-out")
        local = tmp_path / "split"
        _fake_split.make_dataset(local)
        for path in local.rglob("*"):
            if path.is_file():
                key = f"split/{path.relative_to(local).as_posix()}"
                s3.upload_file(str(path), "shard-data", key)
        dedup = _curate(["video-dedup", "--input-path", "s3://shard-data/split",
                         "--output-path", "s3://shard-data/dedup", "--n-clusters", "2",
                         "--s3-profile", "curate-test", "--s3-endpoint-url", endpoint],
                        env)  # fmt: skip
        assert dedup.returncode in (0, 3), dedup.stderr[-3000:]
        shard = _curate(["video-shard", "--input-path", "s3://shard-data/split", "--output-path",
                         "s3://shard-out/out", "--dedup-path", "s3://shard-data/dedup",
                         "--input-s3-profile-name", "reader", "--output-s3-profile-name", "writer",
                         "--target-tar-size-mb", "0.004"], env)  # fmt: skip
        assert shard.returncode in (0, 3), shard.stderr[-3000:]  # 3: the broken video
        body = s3.get_object(Bucket="shard-out", Key="out/index.json")["Body"].read()
        index = json.loads(body)
        assert index["complete"] and index["clips_removed_by_dedup"] == 4
        tars = [o["Key"] for o in s3.list_objects_v2(Bucket="shard-out")["Contents"]
                if o["Key"].endswith(".tar")]  # fmt: skip
        local_tars = []
        for n, key in enumerate(sorted(tars)):
            local_tars.append(str(tmp_path / f"{n}.tar"))
            s3.download_file("shard-out", key, local_tars[-1])
        samples = list(wds.WebDataset(local_tars, shardshuffle=False))
        assert len(samples) == index["samples"] == 28  # the 3 s clip is in `other`
    finally:
        server.stop()
