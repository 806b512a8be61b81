"""The report's Profiles section: each profiled stage's top functions, allocation sites, ops.

Read from the summaries `--profile` left under the run folder (`core.runs.profiles`);
absent from the page when no run in it was profiled.
"""

from __future__ import annotations

import html

from cosmos_curate.core.runs.profiles import COLUMNS, ProfileSummary, stage_profiles
from cosmos_curate.presentation.format import format_bytes
from cosmos_curate.report.series import RunSeries

HEADINGS = {
    "cpu": "CPU (pyinstrument): top functions by time",
    "memory": "Memory (tracemalloc): top allocation sites by size",
    "gpu": "GPU (torch.profiler): top ops by time",
}
NAMES = {"cpu": "function", "memory": "allocation site", "gpu": "op"}


def profiles_section(runs: list[RunSeries]) -> list[str]:
    """The section's cards, one per run (empty when no run was profiled)."""
    found = [stage_profiles(run.folder) for run in runs]
    if not any(found):
        return []
    return [_run_card(profiles) for profiles in found]


def _run_card(profiles: dict[str, list[ProfileSummary]]) -> str:
    if not profiles:
        return '<p class="note">Not profiled (run with --profile cpu,memory,gpu).</p>'
    parts = []
    for stage, summaries in profiles.items():
        parts.append(f"<h3>{html.escape(stage)}</h3>")
        parts.extend(_summary_table(summary) for summary in summaries)
    return "".join(parts)


def _summary_table(summary: ProfileSummary) -> str:
    first, second = COLUMNS.get(summary.kind, ("", ""))
    memory = summary.kind == "memory"
    total = format_bytes(summary.total) + " peak" if memory else f"{summary.total:.2f} s profiled"
    head = (
        f'<p class="note"><b>{html.escape(HEADINGS.get(summary.kind, summary.kind))}</b> '
        f"({html.escape(summary.worker)}, {html.escape(total)})"
    )
    if summary.note:
        head += f"<br>{html.escape(summary.note)}"
    head += "</p>"
    rows = "".join(
        f"<tr><td><code>{html.escape(name)}</code></td>"
        f"<td>{_number(a, memory)}</td><td>{_number(b, False)}</td></tr>"
        for name, a, b in summary.rows
    )
    files = ", ".join(f"<code>{html.escape(f)}</code>" for f in sorted(set(summary.files))[:6])
    table = (
        f'<table class="profile" data-kind="{html.escape(summary.kind)}">'
        f"<tr><th>{NAMES.get(summary.kind, 'name')}</th><th>{first}</th><th>{second}</th></tr>"
        f"{rows}</table>"
    )
    return head + table + (f'<p class="note">files: {files}</p>' if files else "")


def _number(value: float, as_bytes: bool) -> str:
    if as_bytes:
        return html.escape(format_bytes(value))
    return f"{value:,.3f}" if not float(value).is_integer() else f"{int(value):,}"
