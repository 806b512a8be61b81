"""A failed input's record is on disk before the resume journal marks the input done."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from tests.core.runtime.test_stage_options import FailOnSeven
from tests.core.runtime.test_streaming import Item

from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline

pytestmark = pytest.mark.integration


def _journal_covers(path: Path, position: int) -> bool:
    for line in path.read_text().splitlines():
        try:
            ranges = json.loads(line)["done"]
        except (ValueError, KeyError):
            continue
        if any(start <= position < end for start, end in ranges):
            return True
    return False


def test_failure_record_is_fsynced_before_the_journal_counts_its_input(
    ray_cluster: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ignore_failures the journal counts task 7 as done: its record must be durable first.

    Every fsync the driver makes is logged (the real fsync still runs); the failure file is
    fsynced before the first journal fsync whose content lists position 7.
    """
    failures, checkpoint = tmp_path / "failures.jsonl", tmp_path / "ckpt"
    journal = checkpoint / "journal.jsonl"
    synced: list[str] = []
    real_fsync = os.fsync

    def logging_fsync(fd: int) -> None:
        real_fsync(fd)
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        if path == failures:
            synced.append("failures")
        elif path == journal and _journal_covers(journal, 7):
            synced.append("journal has 7")

    monkeypatch.setattr(os, "fsync", logging_fsync)
    result = execute_pipeline(
        [Item(i) for i in range(12)],
        [FailOnSeven(tmp_path)],
        ignore_failures=True,
        failures_path=failures,
        checkpoint_dir=checkpoint,
    )
    assert result.num_failures == 1
    assert "journal has 7" in synced
    assert "failures" in synced[: synced.index("journal has 7")]
