"""The warnings a run logged (GPU stage on CPU, conda env not found, ...), kept for its report."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

MAX_WARNINGS = 100


class WarningLog(logging.Handler):
    """Keeps each distinct WARNING-or-worse message of the `cosmos_curate` loggers, in order.

    `messages` is read by the run's recorder when the run ends.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record's message (once; at most `MAX_WARNINGS`)."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break the run
            message = str(record.msg)
        if message not in self.messages and len(self.messages) < MAX_WARNINGS:
            self.messages.append(message)

    @contextmanager
    def attached(self) -> Iterator[WarningLog]:
        """Collect the package's warnings while the block runs."""
        logger = logging.getLogger("cosmos_curate")
        logger.addHandler(self)
        try:
            yield self
        finally:
            logger.removeHandler(self)
