"""`video-dedup` on a prepared split output, on the session's Ray cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from tests.pipelines.video.dedup import _fake_split

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.video.dedup.pipeline import VideoDedupOptions, dedup_videos
from cosmos_curate.pipelines.video.dedup.split_output import SplitOutputError

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    root = tmp_path_factory.mktemp("split")
    return root, _fake_split.make_dataset(root)


@pytest.fixture(scope="module")
def dedup_run(
    ray_cluster: dict[str, object],
    dataset: tuple[Path, dict[str, list[str]]],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("dedup")
    options = VideoDedupOptions(
        input_path=str(dataset[0]), output_path=str(out), n_clusters=3, eps=[0.01, 0.3],
        max_cluster_rows_in_memory=4, chunk_size=8, workers_per_stage=1,
    )  # fmt: skip
    return out, dedup_videos(options, RunOptions(metrics_port=None))


def _removed(out: Path, tag: str) -> set[str]:
    return {
        i
        for p in (out / "extraction" / f"pruned_eps_{tag}").glob("*.parquet")
        for i in pq.read_table(p).column("id").to_pylist()
    }


def test_one_clip_of_each_planted_pair_is_removed(
    dedup_run: tuple[Path, Any], dataset: tuple[Path, dict[str, list[str]]]
) -> None:
    """At eps 0.01 exactly one of each near-identical pair goes; no distinct clip does."""
    out, _ = dedup_run
    roles = dataset[1]
    removed = _removed(out, "0.01")
    assert len(removed) == 4
    for original, copy in zip(roles["distinct"][:4], roles["pairs"], strict=True):
        assert len(removed & {original, copy}) == 1


def test_pruning_tables_list_every_clip_with_its_closest_earlier_clip(
    dedup_run: tuple[Path, Any], dataset: tuple[Path, dict[str, list[str]]]
) -> None:
    """Every embedded clip is in a table once; a removed clip names its planted twin."""
    out, _ = dedup_run
    roles = dataset[1]
    rows = [
        r
        for p in (out / "extraction" / "semdedup_pruning_tables").glob("*.parquet")
        for r in pq.read_table(p).to_pylist()
    ]
    ids = [r["id"] for r in rows]
    expected = roles["distinct"] + roles["pairs"] + roles["parquet"] + roles["short"]
    assert sorted(ids) == sorted(expected)
    pairs = dict(zip(roles["pairs"], roles["distinct"][:4], strict=True))
    pairs |= {v: k for k, v in pairs.items()}
    for row in rows:
        if row["similarity"] > 0.99:
            assert row["duplicate_of"] == pairs[row["id"]]


def test_a_larger_eps_removes_more_and_counts_add_up(dedup_run: tuple[Path, Any]) -> None:
    """Summary and upstream-style CSVs: kept + removed = total per eps; eps 0.3 >= eps 0.01."""
    out, _result = dedup_run
    summary = json.loads((out / "summary.json").read_text())
    small, large = summary["eps"]["0.01"], summary["eps"]["0.3"]
    assert small == {"kept": 27, "removed": 4, "total": 31}
    assert large["removed"] >= small["removed"] and large["total"] == 31
    assert (out / "extraction" / "dedup_summary_0.01.csv").read_text().splitlines()[
        1
    ] == "0.01,27,4,31"
    assert summary["clips_without_embedding"] == 1 and summary["clusters_out_of_core"] >= 1
    examples = json.loads((out / "extraction" / "examples_eps_0.01.json").read_text())
    assert len(examples["most_similar"]) == 4 and examples["most_similar"][0]["similarity"] > 0.99
    assert (out / "clustering_results" / "kmeans_centroids.npy").is_file()


def test_an_unreadable_embedding_becomes_one_failure_record(
    dedup_run: tuple[Path, Any], dataset: tuple[Path, dict[str, list[str]]]
) -> None:
    """The video with a broken .npy is recorded once (stage, error, video) and counted."""
    _out, result = dedup_run
    assert result.num_failures == 1
    lines = Path(result.failures_path).read_text().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["stage"] == "ReadEmbeddingsStage"  # every video is in the k-means sample
    assert "bad-0000eeee" in record["task_repr"]


def test_pipeline_is_registered_and_rejects_bad_options(tmp_path: Path) -> None:
    """`video-dedup` is in the registry; an eps outside [1e-4, 1) and an empty input are refused."""
    entry = registry.get_pipeline("video-dedup")
    with pytest.raises(registry.PipelineOptionsError, match="--eps"):
        registry.parse_options(entry, {"input_path": "a", "output_path": "b", "eps": [1.5]})
    with pytest.raises(SplitOutputError, match="does not exist"):
        dedup_videos(
            VideoDedupOptions(input_path=str(tmp_path / "nope"), output_path=str(tmp_path / "o"))
        )
    assert "video-shard" in registry.all_pipelines()
