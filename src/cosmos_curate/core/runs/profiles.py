"""A run's profiles: where each stage's files go and the summary each profiled worker writes.

`--profile cpu|memory|gpu` makes every worker of a stage write, under
`<run folder>/profiles/<stage>/`, its profiler's own files (a pyinstrument flame tree, a
tracemalloc snapshot, torch.profiler Chrome traces) and one `<kind>-<worker>.json`
summary: the top rows (functions by time, allocation sites by size, torch ops by time).
`stage_profiles` reads them back merged per stage for `report.html`. Plain files, no Ray.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import attrs

from cosmos_curate.core.storage import publish_json

PROFILES_FOLDER = "profiles"
SUMMARY_ROWS = 50
"""Rows kept in each worker's summary file."""
REPORT_ROWS = 10
"""Rows shown per stage and kind in the report."""
COLUMNS = {
    "cpu": ("self s", "total s"),
    "memory": ("bytes", "blocks"),
    "gpu": ("self s", "calls"),
}
"""The two numbers of each row, per kind (the kinds `--profile` takes, in report order);
rows sort by the first."""


@attrs.frozen
class ProfileSummary:
    """One worker's profile of one kind: its top rows and the files it wrote.

    `rows`: `(name, first, second)` with the numbers `COLUMNS[kind]` names; `total`:
    seconds profiled (cpu, gpu) or the peak traced bytes (memory); `note`: what a reader
    must know (e.g. "CPU activity only: no CUDA device on this worker").
    """

    stage: str
    kind: str
    worker: str
    rows: tuple[tuple[str, float, float], ...]
    total: float
    files: tuple[str, ...] = ()
    note: str = ""


def stage_folder(run_dir: Path, stage: str) -> Path:
    """The folder of one stage's profile files."""
    return run_dir / PROFILES_FOLDER / stage


def write_summary(folder: Path, summary: ProfileSummary) -> Path:
    """Publish `summary` as `<kind>-<worker>.json` in `folder` (its top `SUMMARY_ROWS`)."""
    rows = sorted(summary.rows, key=lambda row: -row[1])[:SUMMARY_ROWS]
    path = folder / f"{summary.kind}-{summary.worker}.json"
    publish_json(path, attrs.asdict(attrs.evolve(summary, rows=tuple(rows))))
    return path


def read_summaries(run_dir: Path) -> list[ProfileSummary]:
    """Every summary under the run's profiles folder (unreadable files skipped)."""
    found = []
    for path in sorted((run_dir / PROFILES_FOLDER).glob("*/*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data["rows"] = tuple(tuple(row) for row in data["rows"])
            data["files"] = tuple(data.get("files", ()))
            found.append(ProfileSummary(**data))
        except (OSError, ValueError, TypeError, KeyError):
            continue
    return found


def merge(summaries: Iterable[ProfileSummary]) -> ProfileSummary:
    """Several workers' summaries of one stage and kind as one: rows summed by name.

    The total is summed too (seconds over all workers), except memory's: the highest
    worker peak. Files and notes are kept, each once.
    """
    items = list(summaries)
    first = items[0]
    sums: dict[str, list[float]] = {}
    for summary in items:
        for name, a, b in summary.rows:
            row = sums.setdefault(name, [0.0, 0.0])
            row[0] += a
            row[1] += b
    rows = sorted(((n, a, b) for n, (a, b) in sums.items()), key=lambda r: -r[1])
    totals = [s.total for s in items]
    notes = dict.fromkeys(s.note for s in items if s.note)
    return ProfileSummary(
        stage=first.stage,
        kind=first.kind,
        worker=f"{len(items)} worker(s)",
        rows=tuple(rows[:REPORT_ROWS]),
        total=max(totals) if first.kind == "memory" else sum(totals),
        files=tuple(f for s in items for f in s.files),
        note="; ".join(notes),
    )


def stage_profiles(run_dir: Path) -> dict[str, list[ProfileSummary]]:
    """Per stage (in the order found), one merged summary per kind profiled."""
    groups: dict[tuple[str, str], list[ProfileSummary]] = {}
    for summary in read_summaries(run_dir):
        groups.setdefault((summary.stage, summary.kind), []).append(summary)
    merged: dict[str, list[ProfileSummary]] = {}
    for (stage, _kind), items in groups.items():
        merged.setdefault(stage, []).append(merge(items))
    for items in merged.values():
        items.sort(key=lambda s: list(COLUMNS).index(s.kind) if s.kind in COLUMNS else 9)
    return merged
