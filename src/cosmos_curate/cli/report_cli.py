"""`curate report [RUN ...] [--open] [-o FILE]`: render a run's page again, or compare runs.

No RUN: the last recorded run. One RUN: its `report.html` is written again in its folder.
Two or more: one page with the runs side by side (default file: beside the first run).
"""

from __future__ import annotations

import time
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from cosmos_curate.cli.common import out, print_note
from cosmos_curate.core.storage.probe import check_can_publish
from cosmos_curate.core.utils.preflight import PreflightError
from cosmos_curate.report import (
    REPORT_FILE,
    RunNotFoundError,
    last_run,
    resolve_run,
    write_report,
)

EXAMPLES = """
Examples:
  curate report                      the last run's page, written again
  curate report RUN_FOLDER --open    one run, opened in the browser
  curate report RUN_A RUN_B -o ab.html   two runs side by side
"""


def report(
    runs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Run folders (or their names under the runs folder); none: the last run.",
            show_default=False,
            metavar="RUN",
        ),
    ] = None,
    open_page: Annotated[
        bool, typer.Option("--open", help="Open the page in the default browser.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the page here.", dir_okay=False),
    ] = None,
) -> None:
    """Render a run's report page (runs side by side when several are given)."""
    named = None
    if output is not None:  # checked before any run is read: a bad -o is rejected at once
        named = f"-o {output}"
        try:
            check_can_publish(output)
        except OSError as exc:
            raise _unwritable(named, exc) from exc
    if runs:
        folders = [resolve_run(name) for name in runs]
    else:
        last = last_run()
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last.started))
        print_note(f"the last run: {last.id} (started {started})")
        folders = [last.folder]
    if output is None:
        first = folders[0]
        output = first / (
            REPORT_FILE
            if len(folders) == 1
            else "compare-" + "-".join(f.name for f in folders[1:]) + ".html"
        )
    try:
        path = write_report(folders, output.expanduser().resolve())
    except ValueError as exc:  # a file that is no run's series
        raise RunNotFoundError(str(exc)) from exc
    except OSError as exc:
        raise _unwritable(named or str(output), exc) from exc
    out.print(str(path), soft_wrap=True)
    if open_page:
        webbrowser.open(path.as_uri())


def _unwritable(name: str, exc: OSError) -> PreflightError:
    return PreflightError(f"{name}: cannot write the page there ({exc.strerror or exc})")


report.__doc__ = f"{report.__doc__}\n{EXAMPLES}"
