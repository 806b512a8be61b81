"""What a run's workers print, as the `curate` command shows it.

Stdout carries results only, so during a run everything goes to stderr. Ray forwards each
worker's stdout and stderr to the driver; here:
- a worker's stdout (a stage's own `print()`) is shown on stderr, prefixed with the worker's
  name (`[StageName]` where the worker names itself after its stage);
- a worker's stderr (our worker log lines, libraries' progress bars such as transformers'
  "Loading weights") is shown only with `-v`;
- Ray's own raylet/autoscaler notices (out-of-memory kills, ...) are always shown.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from cosmos_curate.core.runtime import driver_output

_SYSTEM_SOURCES = ("raylet", "autoscaler")
_PID_SUFFIX = " pid="


def _prefix(data: dict[str, Any]) -> str:
    name = str(data.get("actor_name") or data.get("task_name") or "").strip()
    name = name.split(_PID_SUFFIX)[0] if _PID_SUFFIX in name else name
    return f"[{name}] " if name else f"[pid {data.get('pid')}] "


def make_printer(verbose: bool) -> Any:
    """A replacement for Ray's driver-side printer of worker output (see module doc)."""

    def print_worker_output(data: dict[str, Any], ignore_prefix: bool = False) -> None:
        source = data.get("pid")
        lines = [str(line) for line in data.get("lines", [])]
        if source == "autoscaler":
            from ray._private.worker import filter_autoscaler_events

            lines, prefix = list(filter_autoscaler_events(lines)), ""
        elif source in _SYSTEM_SOURCES:
            prefix = ""
        elif data.get("is_err") and not verbose:
            return
        else:
            prefix = "" if ignore_prefix else _prefix(data)
        for line in lines:
            sys.stderr.write(f"{prefix}{line}\n")
        sys.stderr.flush()

    return print_worker_output


@contextlib.contextmanager
def run_output(verbose: bool) -> Iterator[None]:
    """During the block: stdout goes to stderr and worker output follows the rules above.

    Ray is not imported for this: the printer takes Ray's place when the run connects.
    """
    saved_stdout = sys.stdout
    driver_output.use_printer(make_printer(verbose))
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stdout = saved_stdout
        driver_output.restore()


__all__ = ["make_printer", "run_output"]
