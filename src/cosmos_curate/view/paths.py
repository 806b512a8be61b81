"""Which files the viewer may serve: only regular files inside the output folder.

A request's path is relative to the output root. `..` parts, absolute paths, and links
that lead out of the root are refused (the caller answers 404, as for a missing file), so
the server can only ever read what lies under the folder the user named.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from starlette.responses import Response

from cosmos_curate.core.runs.find import find_runs
from cosmos_curate.report import REPORT_FILE


def not_found() -> Response:
    """The answer for anything not served: missing, outside the output, or refused."""
    return Response("not found\n", status_code=404, media_type="text/plain")


def inside(root: Path, relative: str) -> Path | None:
    """The file `relative` names under `root` (already resolved), or None when it is not one.

    None for: an empty or absolute path, any `..` part, a NUL byte, a path whose resolved
    target (links followed) is outside `root`, and anything that is not a regular file.
    """
    if not relative or "\x00" in relative or "\\" in relative:
        return None
    parts = PurePosixPath(relative).parts
    if not parts or parts[0] == "/" or ".." in parts:
        return None
    try:
        target = root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a link loop
        return None
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target


def find_report(root: Path) -> Path | None:
    """The `report.html` of the run that wrote `root`: in the folder, or in its run's folder.

    Looked for in `root/report.html`, `root/summary/report.html`, then in the newest run
    under the runs folder (`CURATE_RUNS_DIR`) whose summary names `root` as its output.
    """
    for candidate in (root / REPORT_FILE, root / "summary" / REPORT_FILE):
        found = inside(root, candidate.relative_to(root).as_posix())
        if found is not None:
            return found
    for run in sorted(find_runs(), key=lambda r: r.started, reverse=True):
        try:
            summary = json.loads((run.folder / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        output = summary.get("outputs_path") if isinstance(summary, dict) else None
        report = run.folder / REPORT_FILE
        if isinstance(output, str) and _same_folder(output, root) and report.is_file():
            return report
    return None


def _same_folder(named: str, root: Path) -> bool:
    try:
        return Path(named).expanduser().resolve() == root
    except OSError:
        return False
