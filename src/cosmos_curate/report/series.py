"""The run's time series on disk (`series.jsonl`): what the recorder writes and the page reads.

One JSON object per line, each with a kind `k`:
- `header` (first line): stage names and resources, cluster CPUs/GPUs, start time, command;
- `p` (a point): seconds since the start `t`, run counters and one row per stage, whose
  columns are `STAGE_FIELDS` (counters are cumulative, so throughput between any two kept
  points is exact however thinly the series is kept);
- `e` (an event): a planner decision (`plan`), a worker lost (`worker_lost`), all inputs read;
- `end` (last line, when the run ended in this process): outcome, error line, the run's wall
  time `wall_s` (from the run's start, what `summary.json` says too) and the warnings
  logged during the run.

A driver killed half way leaves a file without `end` and maybe a torn last line; the
reader keeps everything before it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import psutil

SERIES_FILE = "series.jsonl"
REPORT_FILE = "report.html"
FORMAT_VERSION = 1

STAGE_FIELDS = (
    "done",
    "failed",
    "produced",
    "busy",
    "idle",
    "starting",
    "draining",
    "target",
    "in_queue",
    "out_queue",
    "in_flight",
    "cpu_percent",
    "rss_bytes",
    "process_s",
    "lost",
)
"""Columns of a point's per-stage row, in order."""
COLUMN = {name: i for i, name in enumerate(STAGE_FIELDS)}


@attrs.frozen
class StageInfo:
    """A stage's name and what one of its workers holds."""

    name: str
    cpus: float
    gpus: float


@attrs.frozen
class Point:
    """One sample: `t` seconds after the start; `stages[i][COLUMN[field]]`."""

    t: float
    inputs_read: int
    outputs: int
    failures: int
    stages: tuple[tuple[float, ...], ...]
    driver_rss: int = 0

    def value(self, stage: int, field: str) -> float:
        """One stage's value of `field` (a name from `STAGE_FIELDS`)."""
        return self.stages[stage][COLUMN[field]]

    def to_json(self) -> dict[str, Any]:
        """The point's JSON object."""
        return {
            "k": "p",
            "t": round(self.t, 3),
            "in": self.inputs_read,
            "out": self.outputs,
            "f": self.failures,
            "rss": self.driver_rss,
            "s": [list(row) for row in self.stages],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Point:
        """Rebuild a point from its JSON object."""
        return cls(
            t=float(data["t"]),
            inputs_read=int(data["in"]),
            outputs=int(data["out"]),
            failures=int(data["f"]),
            stages=tuple(tuple(float(v) for v in row) for row in data["s"]),
            driver_rss=int(data.get("rss", 0)),
        )


@attrs.define
class RunSeries:
    """Everything read back from one run folder."""

    folder: Path
    header: dict[str, Any]
    points: list[Point] = attrs.field(factory=list)
    events: list[dict[str, Any]] = attrs.field(factory=list)
    end: dict[str, Any] | None = None

    @property
    def stages(self) -> list[StageInfo]:
        """The run's stages, in pipeline order."""
        return [StageInfo(s["name"], s["cpus"], s["gpus"]) for s in self.header["stages"]]

    @property
    def cluster_cpus(self) -> float:
        """Logical CPUs of the cluster when the run started."""
        return float(self.header.get("cluster_cpus", 0.0))

    @property
    def cluster_gpus(self) -> float:
        """GPUs of the cluster when the run started."""
        return float(self.header.get("cluster_gpus", 0.0))

    @property
    def name(self) -> str:
        """A short label for the run (its folder's name)."""
        return self.folder.name


def header_record(
    stages: list[StageInfo],
    *,
    cluster_cpus: float,
    cluster_gpus: float,
    started: float,
    command: str,
    failures_path: Path | None,
    run_started: float | None = None,
    nodes: int = 1,
) -> dict[str, Any]:
    """The first line of a series file.

    `run_started` is when the run began (its folder's marker), so that set-up before the
    engine started (Ray, stage checks) counts in the one wall time; `machine_cores` and
    `machine_cpus` are the driver machine's physical cores and logical CPUs (a one-node
    cluster may have been given more logical CPUs than the machine has cores).
    """
    return {
        "k": "header",
        "version": FORMAT_VERSION,
        "stages": [attrs.asdict(s) for s in stages],
        "fields": list(STAGE_FIELDS),
        "cluster_cpus": cluster_cpus,
        "cluster_gpus": cluster_gpus,
        "started": started,
        "command": command,
        "failures_path": str(failures_path) if failures_path is not None else None,
        "run_started": run_started,
        "nodes": nodes,
        "machine_cores": psutil.cpu_count(logical=False) or 0,
        "machine_cpus": psutil.cpu_count(logical=True) or 0,
    }


def dumps(record: dict[str, Any]) -> str:
    """One compact JSON line with its newline."""
    return json.dumps(record, separators=(",", ":")) + "\n"


def read_series(folder: Path) -> RunSeries:
    """Read `folder/series.jsonl`; a torn or unreadable line (a killed writer) is skipped.

    Raises `FileNotFoundError` when the folder holds no series and `ValueError` when the
    file has no header line.
    """
    path = folder / SERIES_FILE
    series: RunSeries | None = None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        kind = record.get("k") if isinstance(record, dict) else None
        if kind == "header":
            series = RunSeries(folder=folder, header=record)
        elif series is None:
            continue
        elif kind == "p":
            try:
                series.points.append(Point.from_json(record))
            except (KeyError, TypeError, ValueError):
                continue
        elif kind == "e":
            series.events.append(record)
        elif kind == "end":
            series.end = record
    if series is None:
        msg = f"{path} has no header line: not a run's series"
        raise ValueError(msg)
    series.points.sort(key=lambda p: p.t)
    return series
