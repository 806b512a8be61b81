"""A pipeline call has one run: the CLI's when it made one, else one made for the call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.pipelines.video.dedup import _fake_split

from cosmos_curate.core import runs
from cosmos_curate.core.interfaces.pipeline_interface import RunOptions
from cosmos_curate.pipelines.video.dedup.pipeline import VideoDedupOptions, dedup_videos


def test_a_folder_the_cli_made_keeps_its_id(tmp_path: Path) -> None:
    made = runs.create_run("video-split", root=tmp_path)
    found = runs.run_for("video-split", made.folder)
    assert (found.id, found.folder) == (made.id, made.folder)


def test_a_callers_own_folder_gets_an_id_and_no_marker(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    run = runs.run_for("video-dedup", mine)
    assert run.folder == mine and "video-dedup" in run.id
    assert not run.marker.exists()  # the caller's folder is not made the tool's


def test_failure_records_go_to_the_output_or_the_run_folder(tmp_path: Path) -> None:
    run = runs.create_run("image-annotate", root=tmp_path / "runs")
    out = tmp_path / "out"
    expected = out / "failures" / f"{run.id}.jsonl"
    assert runs.failures_file(run, str(out)) == expected
    assert runs.failures_file(run, f"file://{out}") == expected
    assert runs.failures_file(run, "s3://bucket/out") == run.folder / "failures.jsonl"
    assert runs.failures_key(run) == f"failures/{run.id}.jsonl"


@pytest.mark.integration
def test_a_library_dedup_call_makes_one_run_folder(
    ray_cluster: dict[str, object], tmp_path: Path
) -> None:
    """dedup runs three runtime runs (sample, assign, dedup): they share one run folder,
    whose id is the one in the output's summary."""
    root = Path(runs.mint_run("x").folder.parent)  # CURATE_RUNS_DIR of this test
    before = {p.name for p in root.iterdir()} if root.is_dir() else set()
    split = tmp_path / "split"
    _fake_split.make_dataset(split)
    out = tmp_path / "dedup"
    options = VideoDedupOptions(
        input_path=str(split), output_path=str(out), n_clusters=3, eps=[0.01],
        max_cluster_rows_in_memory=4, chunk_size=8, workers_per_stage=1,
    )  # fmt: skip
    dedup_videos(options, RunOptions(metrics_port=None))
    new = [root / name for name in sorted({p.name for p in root.iterdir()} - before)]
    made = [run for run in map(runs.read_run, new) if run is not None]
    assert len(made) == 1, new
    (run,) = made
    assert run.pipeline == "video-dedup"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run_id"] == run.id
