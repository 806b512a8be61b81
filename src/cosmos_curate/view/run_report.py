"""Where the `report.html` of the run that wrote an output is: in it, or in the run's folder."""

from __future__ import annotations

import json
from pathlib import Path

from cosmos_curate.core.runs.find import find_runs
from cosmos_curate.report import REPORT_FILE
from cosmos_curate.view.source import Source


def find_report(source: Source) -> str | Path | None:
    """The `report.html` of the run that wrote the output: a key in it, or a local file.

    Looked for in `report.html`, `summary/report.html` of the output, then in the newest run
    under the runs folder (`CURATE_RUNS_DIR`) whose summary names the output as its output.
    """
    for key in (REPORT_FILE, f"summary/{REPORT_FILE}"):
        if source.size(key) is not None:
            return key
    for run in sorted(find_runs(), key=lambda r: r.started, reverse=True):
        try:
            summary = json.loads((run.folder / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        output = summary.get("outputs_path") if isinstance(summary, dict) else None
        report = run.folder / REPORT_FILE
        if isinstance(output, str) and _same_folder(output, source) and report.is_file():
            return report
    return None


def _same_folder(named: str, source: Source) -> bool:
    if not source.is_local:
        return named.rstrip("/") == str(source).rstrip("/")
    try:
        return Path(named).expanduser().resolve() == source.root
    except OSError:
        return False
