"""`video-dedup` in one process writes what the Ray path writes, and when it is chosen."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from tests.pipelines.video.dedup import _fake_split

from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.pipelines import registry
from cosmos_curate.pipelines.video.dedup import in_process
from cosmos_curate.pipelines.video.dedup.pipeline import VideoDedupOptions, dedup_videos

RUN_SPECIFIC = {"run_id", "wall_time_s", "failures_path", "options"}
"""summary.json keys that name the run itself (and the option that picked the path)."""
SHARDS = "clustering_results/embs_by_nearest_center/"


def _files(out: Path) -> dict[str, bytes]:
    """Output files by relative path; failure records (named for their run) are left out."""
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.relative_to(out).parts[0] != "failures"
    }


@pytest.fixture(scope="module")
def both_runs(
    ray_cluster: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> tuple[tuple[Path, Any], tuple[Path, Any]]:
    """The same planted-duplicates input deduped on Ray, then in process (same options)."""
    split = tmp_path_factory.mktemp("split")
    _fake_split.make_dataset(split)
    done = []
    for forced in (False, True):
        out = tmp_path_factory.mktemp("ray" if not forced else "proc")
        options = VideoDedupOptions(
            input_path=str(split), output_path=str(out), n_clusters=3, eps=[0.01, 0.3],
            max_cluster_rows_in_memory=4, chunk_size=8, workers_per_stage=1, in_process=forced,
            kmeans_sample_size=20,
        )  # fmt: skip
        done.append((out, dedup_videos(options, RunOptions(metrics_port=None))))
    return done[0], done[1]


@pytest.mark.integration
def test_in_process_writes_the_same_files_as_the_ray_path(
    both_runs: tuple[tuple[Path, Any], tuple[Path, Any]],
) -> None:
    """Every output file (centroids, pruning tables, CSVs, examples) is byte-identical; only
    the Ray path writes per-cluster shards (the hand-off between its pipelines)."""
    (ray_out, _), (proc_out, _) = both_runs
    ray_files, proc_files = _files(ray_out), _files(proc_out)
    shards = {name for name in ray_files if name.startswith(SHARDS)}
    assert shards and not any(name.startswith(SHARDS) for name in proc_files)
    ray_files = {name: data for name, data in ray_files.items() if name not in shards}
    assert sorted(proc_files) == sorted(ray_files)
    for name, data in ray_files.items():
        if name != "summary.json":
            assert proc_files[name] == data, name
    ray_summary, proc_summary = (json.loads(f["summary.json"]) for f in (ray_files, proc_files))
    for key in RUN_SPECIFIC:
        ray_summary.pop(key), proc_summary.pop(key)
    assert proc_summary == ray_summary
    assert proc_summary["eps"]["0.01"] == {"kept": 27, "removed": 4, "total": 31}
    assert proc_summary["clusters_out_of_core"] >= 1


@pytest.mark.integration
def test_in_process_records_the_same_failure_and_writes_a_report(
    both_runs: tuple[tuple[Path, Any], tuple[Path, Any]],
) -> None:
    """The unreadable video is one record at the same stage; the run has a report and stages."""
    records = []
    for _, result in both_runs:
        assert result.num_failures == 1
        (line,) = Path(result.failures_path).read_text().splitlines()
        record = json.loads(line)
        records.append((record["stage"], record["error"], record["task_repr"]))
    assert records[0] == records[1]
    (_, proc_result) = both_runs[1]
    assert proc_result.report_path is not None and Path(proc_result.report_path).is_file()
    assert [s.name for s in proc_result.progress.stages] == [
        "ReadEmbeddingsStage", "AssignStage", "ClusterDedupStage",
    ]  # fmt: skip
    removed = {
        i
        for p in (both_runs[1][0] / "extraction" / "pruned_eps_0.01").glob("*.parquet")
        for i in pq.read_table(p).column("id").to_pylist()
    }
    assert len(removed) == 4


def test_a_given_cluster_or_a_forced_option_picks_the_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--ray-address or RAY_ADDRESS means Ray; the option wins either way; big inputs go to Ray."""
    assert not in_process.choose(None, "ray://10.0.0.1:10001", None, 10)
    assert in_process.choose(True, "ray://10.0.0.1:10001", None, 10)
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    assert in_process.cluster_given(None)
    assert not in_process.choose(None, None, None, 10)
    assert not in_process.choose(False, None, None, 10)
    assert in_process.fits_in_memory(200_000, 512, available=4 * 2**30)
    assert not in_process.fits_in_memory(200_000, 512, available=1 * 2**30)


def test_the_option_is_on_the_command_line() -> None:
    """`--in-process` and `--no-in-process` parse to the option; unset leaves the rule."""
    entry = registry.get_pipeline("video-dedup")
    base = {"input_path": "a", "output_path": "b"}
    unset, off = (registry.parse_options(entry, o) for o in (base, {**base, "in_process": False}))
    assert isinstance(unset, VideoDedupOptions) and isinstance(off, VideoDedupOptions)
    assert unset.in_process is None and off.in_process is False
