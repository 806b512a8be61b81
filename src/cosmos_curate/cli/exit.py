"""Ending the `curate` process without tearing the interpreter down.

Python's own exit frees every module and object one at a time: 1.2-1.5 s after torch and
transformers were imported (measured on the 2-core machine: `curate pipeline run
image-annotate` printed its last line 1.55 s before its process ended), time in which the
command has nothing left to do. `exit_now` first does what an exit must still do, with
Python's own calls in Python's order: it stops and waits for the other non-daemon threads
(thread pools left open included), runs the `atexit` handlers
(logging's flush, Ray's shutdown, temporary folders, multiprocessing's children) and
flushes Python's and C's output buffers; then the process ends with the code.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import sys
import threading
from typing import NoReturn


def exit_now(code: int) -> NoReturn:
    """End the process with `code` once threads, `atexit` handlers and buffers are done."""
    # Python's own first step: threading's exit hooks (a thread pool left open is told to
    # stop its workers), then every non-daemon thread joined
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()  # Python's next step; each handler runs once
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or broken stream has nothing to say
            stream.flush()
    with contextlib.suppress(Exception):  # C stdio buffers (native code's printf)
        ctypes.CDLL(None).fflush(None)
    os._exit(code)
