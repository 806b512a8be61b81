"""Run folders: only the newest N are kept, and nothing else under the runs folder is touched."""

from __future__ import annotations

import os
from pathlib import Path

from cosmos_curate.cli.run_report import RUN_SUMMARY, clean_runs, run_folders


def test_clean_keeps_the_newest_runs_and_never_caches_or_job_records(isolated_dirs: Path) -> None:
    runs = isolated_dirs / "runs"
    made = []
    for age, name in enumerate(["old", "middle", "new"]):
        folder = runs / name
        folder.mkdir(parents=True)
        (folder / RUN_SUMMARY).write_text("{}")
        os.utime(folder, (1_000_000 + age, 1_000_000 + age))
        made.append(folder)
    for other in ("video_cache", "slurm", "metrics-endpoints"):
        (runs / other).mkdir()
        (runs / other / "keep.me").write_text("x")
    assert run_folders() == made
    removed = clean_runs(2)
    assert removed == [made[0]]
    assert sorted(p.name for p in runs.iterdir()) == [
        "metrics-endpoints", "middle", "new", "slurm", "video_cache",
    ]
