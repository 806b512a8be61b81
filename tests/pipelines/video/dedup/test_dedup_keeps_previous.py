"""A failed or interrupted `video-dedup` leaves the last good results as they were."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.core.weights.fixtures import moto_s3, s3_env  # noqa: F401  (moto server fixtures)
from tests.pipelines.video.dedup import _fake_split

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.video.dedup import results
from cosmos_curate.pipelines.video.dedup.pipeline import VideoDedupOptions, dedup_videos
from cosmos_curate.pipelines.video.dedup.split_output import SplitOutputError


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` but the failure records and hidden entries, by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] != "failures"
        and not p.relative_to(root).parts[0].startswith(".")
    }  # fmt: skip


def _unusable_split(root: Path) -> Path:
    """A split output whose every embedding file is unreadable (each a failure record)."""
    base, _ = _fake_split.planted_vectors(4, 24)
    for i in range(4):
        cid = _fake_split.write_clip(root, f"junk{i}-0000abcd", 0, base[i])
        (root / "embeddings" / f"{cid}.npy").write_bytes(b"not an array")
    return root


def _options(inputs: Path, out: Path) -> VideoDedupOptions:
    return VideoDedupOptions(
        input_path=str(inputs), output_path=str(out), n_clusters=3, eps=[0.01],
        max_cluster_rows_in_memory=4, chunk_size=8, workers_per_stage=1,
    )  # fmt: skip


@pytest.mark.integration
def test_a_run_that_fails_part_way_leaves_the_previous_results_byte_identical(
    ray_cluster: dict[str, object], tmp_path: Path
) -> None:
    """Good run, then a run over input with no usable embedding: it raises after its Ray
    stages ran and wrote records; the first run's results are untouched, no staging is left,
    and a file of the user's in the output folder is still there."""
    good = tmp_path / "good"
    _fake_split.make_dataset(good)
    out = tmp_path / "dedup"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    dedup_videos(_options(good, out), RunOptions(metrics_port=None))
    before = _tree(out)
    assert "extraction/dedup_summary_0.01.csv" in before and "summary.json" in before

    bad = _unusable_split(tmp_path / "bad")
    with pytest.raises(SplitOutputError, match="no clip"):
        dedup_videos(_options(bad, out), RunOptions(metrics_port=None))
    assert _tree(out) == before
    assert len(list((out / "failures").glob("*.jsonl"))) == 2  # the failed run's records
    assert not [p.name for p in out.iterdir() if p.name.startswith(".dedup-")]


def _previous_and_new(out: Path) -> Path:
    """Previous results in `out` and a finished staging folder of run `r1` beside them."""
    (out / "extraction").mkdir(parents=True)
    (out / "extraction" / "t.csv").write_text("old")
    (out / "summary.json").write_text('{"run": "old"}')
    staged = Path(results.staging_path(str(out), "r1"))
    (staged / "extraction").mkdir(parents=True)
    (staged / "extraction" / "t.csv").write_text("new")
    (staged / "clustering_results").mkdir()
    np.save(staged / "clustering_results" / "kmeans_centroids.npy", np.zeros(3))
    (staged / "summary.json").write_text('{"run": "new"}')
    return staged


def test_publish_switches_in_the_new_entries_and_keeps_the_rest(tmp_path: Path) -> None:
    """After a switch: new entries in place, the user's own file kept, nothing hidden left."""
    out = tmp_path / "out"
    staged = _previous_and_new(out)
    (out / "notes.txt").write_text("mine")
    results.publish(str(out), str(staged), StorageOptions())
    assert (out / "extraction" / "t.csv").read_text() == "new"
    assert json.loads((out / "summary.json").read_text()) == {"run": "new"}
    assert (out / "clustering_results" / "kmeans_centroids.npy").is_file()
    assert sorted(p.name for p in out.iterdir()) == [
        "clustering_results", "extraction", "notes.txt", "summary.json",
    ]  # fmt: skip


def test_a_switch_cut_short_is_undone_by_the_next_run(tmp_path: Path) -> None:
    """Killed between moving the old aside and moving all the new in: recover restores the
    previous results exactly and drops the half-switched new ones."""
    out = tmp_path / "out"
    staged = _previous_and_new(out)
    before = _tree(out)
    aside = out / (results.ASIDE_PREFIX + "r1")
    aside.mkdir()
    (aside / results.MANIFEST).write_text(json.dumps(sorted(p.name for p in staged.iterdir())))
    (out / "extraction").rename(aside / "extraction")  # the state a kill leaves mid-switch
    (out / "summary.json").rename(aside / "summary.json")
    (staged / "extraction").rename(out / "extraction")
    results.recover(str(out), StorageOptions())
    assert _tree(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["extraction", "summary.json"]


def test_a_switch_that_moved_everything_in_is_finished_by_the_next_run(tmp_path: Path) -> None:
    """Killed after the last rename in, before the aside was removed: the new results stay."""
    out = tmp_path / "out"
    staged = _previous_and_new(out)
    aside = out / (results.ASIDE_PREFIX + "r1")
    aside.mkdir()
    for name in ("extraction", "summary.json"):
        (out / name).rename(aside / name)
    for entry in list(staged.iterdir()):
        entry.rename(out / entry.name)
    results.recover(str(out), StorageOptions())
    assert (out / "extraction" / "t.csv").read_text() == "new"
    assert sorted(p.name for p in out.iterdir()) == [
        "clustering_results", "extraction", "summary.json",
    ]  # fmt: skip


@pytest.mark.integration
@pytest.mark.usefixtures("s3_env")
def test_on_s3_the_new_keys_replace_the_previous_ones_only_at_publish() -> None:
    """moto's S3 server: staged keys are invisible under the results until `publish`, then
    copied over; stale keys of replaced entries and the staging prefix are gone, the user's
    own key stays; `recover` clears a killed run's staging prefix."""
    import boto3

    client = boto3.client("s3")
    client.create_bucket(Bucket="dedup-results")
    put = {
        "out/extraction/old_only.csv": b"old",
        "out/extraction/t.csv": b"old",
        "out/summary.json": b"old",
        "out/notes.txt": b"mine",
        "out/.dedup-staging-r1/extraction/t.csv": b"new",
        "out/.dedup-staging-r1/summary.json": b"new",
        "out/.dedup-staging-dead/summary.json": b"killed run",
    }
    for key, body in put.items():
        client.put_object(Bucket="dedup-results", Key=key, Body=body)
    out = "s3://dedup-results/out"
    results.publish(out, results.staging_path(out, "r1"), StorageOptions())
    results.recover(out, StorageOptions())

    def body(key: str) -> bytes:
        return bytes(client.get_object(Bucket="dedup-results", Key=key)["Body"].read())

    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket="dedup-results")["Contents"])
    assert keys == ["out/extraction/t.csv", "out/notes.txt", "out/summary.json"]
    assert body("out/extraction/t.csv") == b"new" and body("out/notes.txt") == b"mine"
