"""A pipeline run's folder, log and summary, and the lines saying where everything went.

Each `curate pipeline run` that gets past its checks has a folder under the runs folder
(`CURATE_RUNS_DIR`), `<time>-<pipeline>-<id>`, written when the run ends (so a rejected
start creates nothing): `run.log` (stderr as it was printed) and `summary.json` (what
`--json` prints). Only the last `CURATE_RUNS_KEEP` run folders are kept.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import attrs

from cosmos_curate.cli import errors
from cosmos_curate.cli.common import print_note
from cosmos_curate.cli.worker_output import run_output
from cosmos_curate.core.interfaces.results import PipelineResult
from cosmos_curate.core.utils import settings
from cosmos_curate.presentation.format import first_line

RUN_LOG = "run.log"
RUN_SUMMARY = "summary.json"


class Tee(io.TextIOBase):
    """A text stream writing to `stream` and keeping a copy (the run's log)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        """Write to both."""
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        """Flush the real stream."""
        self.stream.flush()

    def isatty(self) -> bool:
        """Whether the real stream is a terminal (rich and Ray ask)."""
        return self.stream.isatty()

    def fileno(self) -> int:
        """The real stream's descriptor (for libraries that write to it directly)."""
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """The real stream's encoding."""
        return getattr(self.stream, "encoding", "utf-8")


@attrs.define
class RunFolder:
    """Where a run's log and summary go; nothing is written before `save`."""

    pipeline: str
    path: Path = attrs.field(init=False)
    started: float = attrs.field(factory=time.time)
    tee: Tee | None = None

    def __attrs_post_init__(self) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.started))
        self.path = settings.runs_root() / f"{stamp}-{self.pipeline}-{uuid.uuid4().hex[:6]}"

    def capture_stderr(self) -> None:
        """From now on keep a copy of everything written to stderr."""
        self.tee = Tee(sys.stderr)
        sys.stderr = self.tee

    def release_stderr(self) -> str:
        """Stop copying stderr; returns what was written."""
        if self.tee is None:
            return ""
        sys.stderr = self.tee.stream
        text = self.tee.copy.getvalue()
        self.tee = None
        return text

    def save(self, summary: dict[str, Any], log: str) -> None:
        """Write `run.log` and `summary.json`, then drop run folders past the kept count."""
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / RUN_LOG).write_text(log, encoding="utf-8")
        (self.path / RUN_SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
        clean_runs(settings.runs_keep())


def run_folders() -> list[Path]:
    """Run folders under the runs folder, oldest first (the endpoint records excluded)."""
    root = settings.runs_root()
    if not root.is_dir():
        return []
    # Only folders a run wrote: the runs folder also holds caches, scratch and job records.
    markers = (RUN_LOG, RUN_SUMMARY, "series.jsonl")
    folders = [p for p in root.iterdir() if p.is_dir() and any((p / m).is_file() for m in markers)]
    return sorted(folders, key=lambda p: p.stat().st_mtime)


def clean_runs(keep: int) -> list[Path]:
    """Remove all run folders but the newest `keep`; returns the removed ones."""
    folders = run_folders()
    removed = folders[: max(0, len(folders) - max(0, keep))]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def run_summary(
    name: str, result: PipelineResult | None, exit_code: int, folder: RunFolder,
    outputs_path: str | None,
) -> dict[str, Any]:  # fmt: skip
    """The run's summary: counts, per-stage numbers, exit code and where things went."""
    summary: dict[str, Any] = {
        "pipeline": name,
        "exit_code": exit_code,
        "elapsed_s": round(time.time() - folder.started, 3),
        "run_folder": str(folder.path),
        "log": str(folder.path / RUN_LOG),
        "outputs_path": outputs_path,
    }
    if result is None:
        return summary
    summary.update(
        num_outputs=result.num_outputs,
        num_failures=result.num_failures,
        failures_path=str(result.failures_path) if result.failures_path else None,
        stages=[
            {
                "name": s.name,
                "tasks_done": s.tasks_done,
                "tasks_failed": s.tasks_failed,
                "tasks_produced": s.tasks_produced,
                "seconds_per_task": s.seconds_per_task,
                "backpressure_wait_s": round(s.backpressure_wait_s, 3),
            }
            for s in result.progress.stages
        ],
        object_store_peak_bytes=result.progress.object_store_peak_bytes,
        spilled_bytes=result.progress.spilled_bytes,
        cross_node_bytes=result.progress.cross_node_bytes,
    )
    return summary


def where_lines(summary: dict[str, Any]) -> list[str]:
    """Lines telling where the outputs, summary, failure records and log went."""
    outputs = summary.get("outputs_path")
    lines = []
    if outputs:
        lines.append(f"outputs:  {outputs}")
    elif "num_outputs" in summary:
        lines.append(f"outputs:  {summary['num_outputs']} (on stdout)")
    if outputs and Path(outputs, RUN_SUMMARY).is_file():
        lines.append(f"summary:  {Path(outputs, RUN_SUMMARY)}")
    lines.append(f"run:      {Path(summary['run_folder'], RUN_SUMMARY)}")
    if summary.get("failures_path"):
        count = summary.get("num_failures", 0)
        lines.append(f"failures: {count} record(s) in {summary['failures_path']}")
    lines.append(f"log:      {summary['log']}")
    return lines


def run_and_report(
    name: str,
    runner: Callable[[Path], PipelineResult],
    outputs_path: str | None,
    *,
    as_json: bool,
    verbose: bool,
    print_summary: Callable[[str, PipelineResult], None],
) -> int:
    """Run `runner(run folder)`, keep the log, print the summary and where things went.

    Returns the exit code: 0 when every input was processed; 3 when stages that ignore
    failures recorded failed inputs. An exception propagates (the caller maps it to its
    code) after the run folder is saved, unless the run was rejected before it started
    (nothing is created then).
    """
    folder = RunFolder(name)
    folder.capture_stderr()
    errors.mark_started()
    try:
        with run_output(verbose):
            result = runner(folder.path)
    except BaseException as exc:
        code = errors.exit_code_of(exc)
        log = folder.release_stderr()
        if code != errors.EXIT_REJECTED:
            known = errors.classify(exc)
            log += f"error: {known.message if known else first_line(exc)}\n"
            _finish(folder, run_summary(name, None, code, folder, outputs_path), log)
        raise
    code = errors.EXIT_FAILED_INPUTS if result.num_failures else errors.EXIT_OK
    if not as_json:
        print_summary(name, result)
    summary = run_summary(name, result, code, folder, outputs_path)
    _finish(folder, summary, folder.release_stderr())
    if as_json:
        sys.stdout.write(json.dumps(summary) + "\n")
    return code


def _finish(folder: RunFolder, summary: dict[str, Any], log: str) -> None:
    lines = where_lines(summary)
    for line in lines:
        print_note(line)
    folder.save(summary, log + "".join(f"{line}\n" for line in lines))


__all__ = [
    "RunFolder",
    "Tee",
    "clean_runs",
    "run_and_report",
    "run_folders",
    "run_summary",
    "where_lines",
]
