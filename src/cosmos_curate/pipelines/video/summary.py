"""The run summary, computed from what is on disk after the run (not from driver memory).

Counting from the output folder keeps the driver's memory flat however many clips a run
makes, and makes the numbers agree with the files a user finds.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cosmos_curate.core import runs
from cosmos_curate.core.interfaces.results import read_failure_records
from cosmos_curate.core.runs import Run
from cosmos_curate.pipelines.video.layout import OutputLayout
from cosmos_curate.presentation.format import first_line

_SOURCE = re.compile(r"source='((?:[^'\\]|\\.)*)'")
TOO_SHORT = "min_length"


def failure_entries(path: Path | None) -> list[dict[str, Any]]:
    """One entry per failure record of the run: stage, first error line, source video."""
    if path is None or not path.is_file():
        return []
    entries = []
    for record in read_failure_records(path):
        match = _SOURCE.search(record.task_repr)
        entries.append(
            {
                "stage": record.stage,
                "error": first_line(record.error),
                "source": match.group(1) if match else None,
            }
        )
    return entries


def build_summary(
    layout: OutputLayout,
    *,
    video_ids: Iterable[str],
    videos_found: int,
    videos_skipped: int,
    failures_path: Path | None,
    wall_s: float,
) -> dict[str, Any]:
    """Counts for the videos this run processed (skipped ones are only counted)."""
    filtered: Counter[str] = Counter()
    clips_out = clips_missing = completed = 0
    hours = 0.0
    ids = list(video_ids)
    for video_id in ids:
        manifests = layout.manifests(video_id) or []
        for manifest in manifests:
            filtered[TOO_SHORT] += int(manifest.get("dropped_too_short", 0))
            for clip_id in manifest.get("clip_ids", []):
                if layout.exists(layout.clip_meta(clip_id)):
                    clips_out += 1
                    continue
                record = layout.read_json(layout.filtered_record(clip_id))
                if isinstance(record, dict):
                    filtered[str(record.get("filtered_by"))] += 1
                else:
                    clips_missing += 1
        if layout.video_done(video_id):
            completed += 1
            record = layout.read_json(layout.video_record(video_id)) or {}
            hours += float(record.get("duration_s", 0.0)) / 3600.0
    failures = failure_entries(failures_path)
    wall_hours = wall_s / 3600.0
    return {
        "videos_found": videos_found,
        "videos_skipped_already_done": videos_skipped,
        "videos_in": len(ids),
        "videos_completed": completed,
        "clips_out": clips_out,
        "clips_filtered": dict(sorted(filtered.items())),
        "clips_incomplete": clips_missing,
        "failures": len(failures),
        "failures_by_stage": dict(sorted(Counter(f["stage"] for f in failures).items())),
        "failure_records": failures[:100],
        "failures_path": str(failures_path) if failures else None,
        "video_hours_processed": round(hours, 6),
        "wall_time_s": round(wall_s, 3),
        "video_hours_per_wall_hour": round(hours / wall_hours, 3) if wall_hours > 0 else None,
    }


def prepare_output(layout: OutputLayout) -> None:
    """Create a local output folder, or check that the S3 bucket answers, before the run."""
    if layout.storage.is_local:
        layout.storage.path().mkdir(parents=True, exist_ok=True)
    else:
        layout.storage.check_writable()


def publish_run_files(
    layout: OutputLayout, run: Run, failures_path: Path | None, summary: dict[str, Any]
) -> None:
    """Write `summary.json` (and, for an S3 output, upload the failure records first)."""
    key = runs.failures_key(run)
    if layout.local_path(key) is None and failures_path is not None and failures_path.is_file():
        layout.write_bytes(key, failures_path.read_bytes())
        summary["failures_path"] = layout.url(key) if summary.get("failures_path") else None
    layout.write_json(layout.summary, summary)
