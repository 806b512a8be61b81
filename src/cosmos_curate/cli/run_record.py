"""A pipeline run as `curate pipeline run` shows it: the stderr copy and where things went.

The run itself (its id, folder, marker, summary, retention) belongs to
`cosmos_curate.core.runs`: each run that gets past its checks keeps a folder under the runs
folder (`CURATE_RUNS_DIR`) with `run.log` (stderr as it was printed) and `summary.json`
(what `--json` prints); a rejected start leaves nothing. Only the last `CURATE_RUNS_KEEP`
run folders are kept, and only folders a run marked as its own are ever deleted.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from cosmos_curate.cli import errors
from cosmos_curate.cli.common import print_note
from cosmos_curate.cli.worker_output import run_output
from cosmos_curate.core import runs
from cosmos_curate.core.interfaces.results import PipelineResult
from cosmos_curate.core.runs import RUN_SUMMARY, Run
from cosmos_curate.core.utils import settings
from cosmos_curate.presentation.format import first_line


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


def capture_stderr() -> Tee:
    """From now on keep a copy of everything written to stderr."""
    tee = Tee(sys.stderr)
    sys.stderr = tee
    return tee


def release_stderr(tee: Tee) -> str:
    """Stop copying stderr; returns what was written."""
    sys.stderr = tee.stream
    return tee.copy.getvalue()


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


def run_and_record(
    name: str,
    runner: Callable[[Path], PipelineResult],
    outputs_path: str | None,
    *,
    as_json: bool,
    verbose: bool,
    print_summary: Callable[[str, PipelineResult], None],
    config: dict[str, Any] | None = None,
) -> int:
    """Run `runner(run folder)`, keep the log, print the summary and where things went.

    `config` (the run's effective options, as `--print-config` writes them) goes into the
    summary.

    Returns the exit code: 0 when every input was processed; 3 when stages that ignore
    failures recorded failed inputs. An exception propagates (the caller maps it to its
    code) after the run's records are saved, unless the run was rejected before it started
    (its folder is removed then: nothing is left).
    """
    run = runs.create_run(name)
    tee = capture_stderr()
    try:
        with run_output(verbose), errors.work_started():
            result = runner(run.folder)
    except BaseException as exc:
        code = errors.exit_code_of(exc)
        log = release_stderr(tee)
        if code == errors.EXIT_REJECTED:
            runs.discard_run(run)
        else:
            known = errors.classify(exc)
            log += f"error: {known.message if known else first_line(exc)}\n"
            _finish(run, runs.run_summary(run, None, code, outputs_path, config), log)
        raise
    code = errors.EXIT_FAILED_INPUTS if result.num_failures else errors.EXIT_OK
    if not as_json:
        print_summary(name, result)
    summary = runs.run_summary(run, result, code, outputs_path, config)
    _finish(run, summary, release_stderr(tee))
    if as_json:
        sys.stdout.write(json.dumps(summary) + "\n")
    return code


def _finish(run: Run, summary: dict[str, Any], log: str) -> None:
    lines = where_lines(summary)
    for line in lines:
        print_note(line)
    runs.save_run(run, summary, log + "".join(f"{line}\n" for line in lines))
    runs.clean_runs(settings.runs_keep(), run.folder.parent)


__all__ = [
    "Tee",
    "capture_stderr",
    "release_stderr",
    "run_and_record",
    "where_lines",
]
