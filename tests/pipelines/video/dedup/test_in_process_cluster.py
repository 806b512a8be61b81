"""`video-dedup` given a cluster (RAY_ADDRESS of a loopback cluster) runs on it, same results."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cluster.cluster_helpers import Loopback
from tests.pipelines.video.dedup import _fake_split
from tests.support import curate

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.pipelines.video.dedup.pipeline import VideoDedupOptions, dedup_videos

pytestmark = pytest.mark.integration


def test_a_run_given_a_cluster_uses_it_and_keeps_what_one_process_keeps(
    loopback_cluster: Loopback, tmp_path: Path
) -> None:
    """RAY_ADDRESS set: the CLI run goes to the cluster (no in-process line in its log) and
    writes the same pruning tables, summary counts and kept set as a forced in-process run
    (which writes no per-cluster shards: the hand-off between the cluster path's pipelines)."""
    split = tmp_path / "split"
    _fake_split.make_dataset(split)
    common = ["--input-path", str(split), "--n-clusters", "3", "--eps", "0.01", "--chunk-size",
              "8", "--kmeans-sample-size", "20"]  # fmt: skip
    env = {**loopback_cluster.env, "CURATE_RUNS_DIR": str(tmp_path / "runs")}
    result = curate(
        "pipeline", "run", "video-dedup", *common, "--output-path", str(tmp_path / "ray"),
        "--no-progress", "--verbose", env=env, timeout=600,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr[-3000:]  # 3: the unreadable video's record
    assert "without Ray" not in result.stderr
    options = VideoDedupOptions(
        input_path=str(split), output_path=str(tmp_path / "proc"), n_clusters=3, eps=[0.01],
        chunk_size=8, kmeans_sample_size=20, in_process=True,
    )  # fmt: skip
    dedup_videos(options, RunOptions(metrics_port=None))

    shards = Path("clustering_results", "embs_by_nearest_center")

    def files(out: Path, sub: str) -> list[Path]:
        found = (p.relative_to(out) for p in (out / sub).rglob("*") if p.is_file())
        return sorted(p for p in found if shards not in p.parents)

    assert list((tmp_path / "ray" / shards).rglob("*.parquet"))
    assert not (tmp_path / "proc" / shards).exists()

    for sub in ("extraction", "clustering_results"):
        ray_files, proc_files = files(tmp_path / "ray", sub), files(tmp_path / "proc", sub)
        assert ray_files == proc_files
        for rel in ray_files:
            assert (tmp_path / "ray" / rel).read_bytes() == (
                tmp_path / "proc" / rel
            ).read_bytes(), rel
