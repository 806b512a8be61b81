"""Keep the program's own SIGTERM/SIGINT handlers across `ray.init`.

`ray.init` replaces the SIGTERM handler of the driver with one that exits with status 15.
A program (the `curate` command) that installed its own handler, to stop cleanly, print
one line and exit 143, gets it back; a program that installed none keeps Ray's.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def handlers_kept() -> Iterator[None]:
    """Restore, after the block, the Python-level signal handlers installed before it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            # Only handlers a program installed on purpose; the defaults stay Ray's to set.
            if callable(handler) and handler is not signal.default_int_handler:
                signal.signal(sig, handler)


__all__ = ["handlers_kept"]
