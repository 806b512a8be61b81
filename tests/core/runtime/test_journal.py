"""The resume journal and the input ledger (pure, no Ray)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.runtime.journal import DoneSet, ResumeJournal
from cosmos_curate.core.runtime.ledger import InputLedger, to_ranges


def test_done_set_merges_ranges() -> None:
    """Overlapping and adjacent ranges merge; membership is exact at the edges."""
    done = DoneSet()
    for start, end in [(10, 20), (0, 5), (5, 10), (30, 31), (15, 25)]:
        done.add(start, end)
    assert len(done) == 26
    assert 0 in done and 24 in done and 30 in done
    assert 25 not in done and 29 not in done and 31 not in done


def test_to_ranges_compacts_positions() -> None:
    """Consecutive positions become one half-open range."""
    assert to_ranges([0, 1, 2, 5, 7, 8]) == ((0, 3), (5, 6), (7, 9))


def test_ledger_counts_an_input_done_only_when_all_children_are() -> None:
    """1 -> 3 fan-out: the origin is done after the third child leaves, not before."""
    finished: list[object] = []
    ledger = InputLedger(finished.append)
    origins = ledger.new_origin(((0, 4),))
    ledger.derive(origins, 3)  # stage 1 turned the chunk into three chunks
    ledger.release(origins)  # ... and consumed the original
    ledger.release(origins)
    ledger.release(origins)
    assert finished == []
    ledger.release(origins)
    assert finished == [((0, 4),)]
    assert ledger.inputs_done == 4


def test_journal_survives_a_torn_last_line(tmp_path: Path) -> None:
    """A crash mid-write leaves a partial line; resume keeps every complete record."""
    journal = ResumeJournal(tmp_path, resume=False)
    journal.record(((0, 10),))
    journal.flush()
    journal.record(((20, 30),))
    journal.close()
    with (tmp_path / "journal.jsonl").open("a") as f:
        f.write('{"done": [[40, ')  # torn
    resumed = ResumeJournal(tmp_path, resume=True)
    assert len(resumed.done) == 20
    assert 5 in resumed.done and 25 in resumed.done and 40 not in resumed.done
    resumed.close()


def test_existing_journal_without_resume_is_refused(tmp_path: Path) -> None:
    """Starting over would silently redo finished work: the user must say --resume."""
    ResumeJournal(tmp_path, resume=False).close()
    with pytest.raises(CurateError, match="--resume"):
        ResumeJournal(tmp_path, resume=False)
