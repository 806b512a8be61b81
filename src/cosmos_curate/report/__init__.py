"""Run reports: a bounded time series recorded during a run and a self-contained HTML page."""

from cosmos_curate.report.recorder import RunRecorder
from cosmos_curate.report.render import write_report
from cosmos_curate.report.runs import RunNotFoundError, last_run, resolve_run
from cosmos_curate.report.series import REPORT_FILE, SERIES_FILE, RunSeries, StageInfo, read_series

__all__ = [
    "REPORT_FILE",
    "SERIES_FILE",
    "RunNotFoundError",
    "RunRecorder",
    "RunSeries",
    "StageInfo",
    "last_run",
    "read_series",
    "resolve_run",
    "write_report",
]
