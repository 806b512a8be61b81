"""Run folders: only folders a run marked as its own are ever deleted, and only the oldest.

The runs folder (`CURATE_RUNS_DIR`) may sit above a user's outputs: video-split and
video-dedup outputs hold a `summary.json` (and may hold a `run.log` or a `series.jsonl`),
caches and job records live there too, and a symlink may point anywhere. Retention keeps
the newest `CURATE_RUNS_KEEP` runs and leaves everything else byte for byte as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from tests.support import curate_in_process

from cosmos_curate.cli.run_record import run_and_record
from cosmos_curate.core import runs
from cosmos_curate.core.interfaces.results import PipelineProgress, PipelineResult


def _output_folder(root: Path, name: str) -> Path:
    """A folder shaped like a video-split / video-dedup output (summary.json and all)."""
    out = root / name
    (out / "clips").mkdir(parents=True)
    (out / "clips" / "v0_0.mp4").write_bytes(os.urandom(4096))
    (out / "metas").mkdir()
    (out / "metas" / "v0_0.json").write_text('{"clip": "clips/v0_0.mp4"}')
    (out / "summary.json").write_text(json.dumps({"videos_found": 1, "clips": 1}))
    # What the old code also took for a run's files.
    (out / "run.log").write_text("a user's log\n")
    (out / "series.jsonl").write_text("{}\n")
    old = 1_000_000  # older than every run: first in line by age
    os.utime(out, (old, old))
    return out


def _snapshot(folder: Path) -> dict[str, str]:
    """Every path under `folder` with the sha256 of its bytes ("dir" for folders)."""
    return {
        str(p.relative_to(folder)): (
            "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
        )
        for p in sorted(folder.rglob("*"))
    }


def _empty_result() -> PipelineResult:
    progress = PipelineProgress(
        stages=(), elapsed_s=0.0, inputs_read=0, input_exhausted=True, outputs=0, failures=0,
        finished=True,
    )  # fmt: skip
    return PipelineResult(
        outputs=[], num_outputs=0, num_failures=0, failures_path=None, progress=progress
    )


def _marked(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if (p / runs.MARKER_FILE).is_file())


def test_25_runs_keep_2_and_both_outputs_beside_them_stay_intact(
    isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """25 runs through the CLI's run path with CURATE_RUNS_KEEP=2: 2 run folders remain,
    two output folders under the runs folder are unchanged byte for byte."""
    root = isolated_dirs / "runs"
    outputs = [_output_folder(root, "split-out"), _output_folder(root, "dedup-out")]
    before = [_snapshot(out) for out in outputs]
    monkeypatch.setenv("CURATE_RUNS_KEEP", "2")
    for _ in range(25):
        code = run_and_record(
            "hello-world", lambda _folder: _empty_result(), str(outputs[0]),
            as_json=False, verbose=False, print_summary=lambda _name, _result: None,
        )  # fmt: skip
        assert code == 0
    assert [_snapshot(out) for out in outputs] == before
    left = _marked(root)
    assert len(left) == 2
    assert sorted(p.name for p in root.iterdir()) == sorted([*left, "dedup-out", "split-out"])
    assert all((root / name / runs.RUN_SUMMARY).is_file() for name in left)


@pytest.mark.integration
def test_real_curate_run_keeps_2_and_never_touches_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ray_cluster: dict[str, object]
) -> None:
    """`curate pipeline run demo-task-chunking` with CURATE_RUNS_KEEP=2, three older runs and
    two outputs in the runs folder: the outputs are intact and exactly 2 run folders are left.

    The CLI's entry point in this process, on the session's Ray (it joins the connected Ray,
    never starts one): the run path is the one a user's process takes."""
    root = tmp_path / "runs"
    outputs = [_output_folder(root, "split-out"), _output_folder(root, "dedup-out")]
    before = [_snapshot(out) for out in outputs]
    older = [runs.create_run("hello-world", root=root) for _ in range(3)]
    for run in older:
        runs.save_run(run, {"exit_code": 0}, "")
    monkeypatch.setenv("CURATE_RUNS_DIR", str(root))
    monkeypatch.setenv("CURATE_RUNS_KEEP", "2")
    result = curate_in_process("pipeline", "run", "demo-task-chunking", "--no-progress")
    assert result.returncode == 0, result.stderr[-3000:]
    assert [_snapshot(out) for out in outputs] == before
    left = _marked(root)
    assert len(left) == 2
    assert older[-1].id in left  # the newest older run and the new one
    assert not any((root / run.id).exists() for run in older[:2])


def test_a_symlink_in_the_runs_folder_is_never_followed_or_deleted(tmp_path: Path) -> None:
    """A symlink to an outside folder that looks like a run, and a run folder whose marker is
    a symlink, are no runs: retention with keep=0 removes neither, nor anything outside."""
    root, outside = tmp_path / "runs", tmp_path / "outside"
    outside.mkdir()
    (outside / runs.MARKER_FILE).write_text(
        json.dumps({"id": "link", "pipeline": "x", "started": 1.0})
    )
    (outside / "summary.json").write_text("{}")
    (outside / "dataset.bin").write_bytes(b"precious")
    root.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    fake = root / "fake"
    fake.mkdir()
    (outside / "fake-marker.json").write_text(
        json.dumps({"id": "fake", "pipeline": "x", "started": 1.0})
    )
    (fake / runs.MARKER_FILE).symlink_to(outside / "fake-marker.json")
    before = _snapshot(outside)

    assert runs.find_runs(root) == []
    assert runs.clean_runs(0, root) == []
    assert (root / "link").is_symlink() and (root / "link" / "dataset.bin").is_file()
    assert fake.is_dir()
    assert _snapshot(outside) == before


def test_unmarked_renamed_and_running_folders_are_kept(isolated_dirs: Path) -> None:
    """A run folder of the old code (no marker), a run folder renamed by the user, a cache
    and a run still in progress survive `keep=0`; a finished marked run does not."""
    root = isolated_dirs / "runs"
    legacy = root / "20240101-000000-hello-world-abcdef"
    legacy.mkdir(parents=True)
    for name in ("run.log", "summary.json", "series.jsonl"):
        (legacy / name).write_text("{}")
    renamed = runs.create_run("hello-world")
    runs.save_run(renamed, {}, "")
    renamed_to = root / "my-keeper"
    renamed.folder.rename(renamed_to)
    (root / "video_cache").mkdir()
    (root / "video_cache" / "keep.me").write_text("x")
    running = runs.create_run("hello-world")  # this process is alive, no summary yet
    finished = runs.create_run("hello-world")
    runs.save_run(finished, {}, "")

    assert [run.id for run in runs.find_runs()] == [running.id, finished.id]
    assert runs.clean_runs(0) == [finished.folder]
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [legacy.name, "my-keeper", "video_cache", running.id]
    )


def test_a_rejected_run_leaves_no_folder(isolated_dirs: Path) -> None:
    """A run rejected before it starts removes its folder and the runs folder it created."""
    root = isolated_dirs / "runs" / "deeper"
    run = runs.create_run("hello-world", root=root)
    assert json.loads(run.marker.read_text())["id"] == run.id
    runs.discard_run(run)
    assert list(isolated_dirs.iterdir()) == []
