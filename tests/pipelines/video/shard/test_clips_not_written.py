"""Every kept clip is in a tar or listed with its reason; bytes come only from the split output.

Small real split-output folders (`_fake_split`) on the session's Ray cluster; `curate`'s own
entry point in this process where the exit code and its lines are the point (the real
`curate` process: test_shard_pipeline.py's S3 run).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.pipelines.video.dedup import _fake_split
from tests.support import CliResult, curate_in_process

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.pipelines.video.shard.options import VideoShardOptions
from cosmos_curate.pipelines.video.shard.pipeline import shard_videos

pytestmark = pytest.mark.integration

SECRET = b"aws_secret_access_key = NOT-FOR-ANY-TAR-7f3a9c"


def _curate(args: list[str]) -> CliResult:
    """`curate pipeline run video-shard ARGS` in this process, on the session's Ray."""
    return curate_in_process(
        "pipeline", "run", "video-shard", *args, "--no-progress", "--workers-per-stage", "1"
    )


def _tar_samples(out: Path) -> dict[str, dict[str, Any]]:
    import webdataset as wds

    tars = sorted(str(p) for p in out.rglob("*.tar"))
    return {s["__key__"]: s for s in wds.WebDataset(tars, shardshuffle=False)} if tars else {}


def _listed(out: Path) -> dict[str, dict[str, str]]:
    lines = (out / "not_written.jsonl").read_text().splitlines()
    return {r["clip_id"]: r for r in map(json.loads, lines)}


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _point_clip_at(split: Path, clip_id: str, clip_path: str) -> None:
    meta_file = split / "metas" / f"{clip_id}.json"
    meta = json.loads(meta_file.read_text())
    meta["clip_path"] = clip_path
    meta_file.write_text(json.dumps(meta))


def test_a_clip_path_outside_the_split_output_is_never_packed(
    ray_cluster: dict[str, object], tmp_path: Path
) -> None:
    """Absolute, `../` and symlinked clip paths: records, no secret byte in any tar, exit 3."""
    secret = tmp_path / "home" / ".aws" / "credentials"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(SECRET)
    split, out = tmp_path / "split", tmp_path / "shards"
    good = _fake_split.write_clip(split, "good-0000aaaa", 0, [1.0, 0.0])
    absolute = _fake_split.write_clip(split, "abs-0000bbbb", 0, [0.0, 1.0])
    _point_clip_at(split, absolute, str(secret))
    climbing = _fake_split.write_clip(split, "up-0000cccc", 0, [1.0, 1.0])
    _point_clip_at(split, climbing, "../home/.aws/credentials")
    linked = _fake_split.write_clip(split, "link-0000dddd", 0, [0.5, 1.0])
    (split / "clips" / f"{linked}.mp4").unlink()
    (split / "clips" / f"{linked}.mp4").symlink_to(secret)

    run = _curate(["--input-path", str(split), "--output-path", str(out)])

    assert run.returncode == 3, run.stderr[-3000:]
    assert set(_tar_samples(out)) == {good}
    for tar in out.rglob("*.tar"):
        assert SECRET not in tar.read_bytes()
    (failures,) = (out / "failures").glob("*.jsonl")
    assert f"failures: 3 record(s) in {failures}" in run.stderr
    records = {r["task_repr"]: r for r in _records(failures)}
    assert set(records) == {f"clip {c}" for c in (absolute, climbing, linked)}
    assert "absolute" in records[f"clip {absolute}"]["error"]
    assert "'..'" in records[f"clip {climbing}"]["error"]
    assert "symlink" in records[f"clip {linked}"]["error"]
    listed = _listed(out)
    assert {c: r["reason"] for c, r in listed.items()} == dict.fromkeys(
        (absolute, climbing, linked), "clip_path_refused"
    )
    assert json.loads((out / "index.json").read_text())["clips_not_written"] == 3


def _short_clips(split: Path) -> list[str]:
    """Three one-clip videos of 2, 3 and 4 s: below the first duration bucket (5 s)."""
    return [
        _fake_split.write_clip(split, f"short{n}-0000eeee", 0, [1.0, n], duration_s=float(n))
        for n in (2, 3, 4)
    ]


def test_clips_shorter_than_every_bucket_land_in_the_other_bucket(
    ray_cluster: dict[str, object], tmp_path: Path
) -> None:
    """A dataset of 2-4 s clips gives tars under `other/`, every clip in them, and exit 0."""
    split, out = tmp_path / "split", tmp_path / "shards"
    ids = _short_clips(split)
    run = _curate(["--input-path", str(split), "--output-path", str(out)])
    assert run.returncode == 0, run.stderr[-3000:]
    assert "failures:" not in run.stderr
    samples = _tar_samples(out)
    assert set(samples) == set(ids)
    assert {p.relative_to(out).parts[0] for p in out.rglob("*.tar")} == {"other"}
    assert samples[ids[0]]["mp4"] == (split / "clips" / f"{ids[0]}.mp4").read_bytes()
    index = json.loads((out / "index.json").read_text())
    assert index["clips_unbucketed"] == {"duration": 3} and index["clips_not_written"] == 0
    assert [b["bucket"] for b in index["buckets"]] == ["other"] and index["samples"] == 3
    assert _listed(out) == {}


def test_skipped_and_dropped_clips_are_listed_and_counted_as_failures(
    ray_cluster: dict[str, object], tmp_path: Path
) -> None:
    """Skip and drop options: each clip listed with its reason and a failure record each."""
    split, out = tmp_path / "split", tmp_path / "shards"
    short = _short_clips(split)
    small = _fake_split.write_clip(split, "long-0000ffff", 0, [0.0, 1.0], duration_s=6.0)
    options = VideoShardOptions(
        input_path=str(split), output_path=str(out), skip_unbucketed=True,
        drop_small_shards=True, min_clips_per_tar=2, workers_per_stage=1,
    )  # fmt: skip
    result = shard_videos(options, RunOptions(metrics_port=None))
    assert _tar_samples(out) == {}
    listed = _listed(out)
    assert {c: r["reason"] for c, r in listed.items()} == {
        **dict.fromkeys(short, "skipped_unbucketed"),
        small: "dropped_small_shard",
    }
    assert "--skip-unbucketed" in listed[short[0]]["detail"]
    assert result.num_failures == 4  # the CLI exits 3 and prints the records' path
    records = _records(Path(result.failures_path))
    assert sorted(r["task_repr"] for r in records) == sorted(f"clip {c}" for c in [*short, small])
    index = json.loads((out / "index.json").read_text())
    assert index["clips_not_written_by_reason"] == {
        "dropped_small_shard": 1, "skipped_unbucketed": 3
    }  # fmt: skip
