"""The resume journal and the input ledger (pure, no Ray)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.runtime.journal import DoneSet, ResumeJournal, repair_torn_tail
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


def test_a_record_appended_after_a_torn_line_is_kept(tmp_path: Path) -> None:
    """Resume cuts the torn tail first: the next run's record is read back, not glued to it."""
    journal = ResumeJournal(tmp_path, resume=False)
    journal.record(((0, 10),))
    journal.close()
    path = tmp_path / "journal.jsonl"
    with path.open("a") as f:
        f.write('{"done": [[10, ')  # the driver was killed mid-write
    resumed = ResumeJournal(tmp_path, resume=True)
    resumed.record(((10, 20),))
    resumed.close()
    again = ResumeJournal(tmp_path, resume=True)
    assert len(again.done) == 20 and 15 in again.done
    again.close()
    assert [line[:9] for line in path.read_text().splitlines()] == ['{"done":[', '{"done":[']


def test_repair_leaves_a_whole_journal_alone(tmp_path: Path) -> None:
    """Nothing is cut when the last line is complete, nor from an empty file."""
    path = tmp_path / "journal.jsonl"
    path.write_text("")
    assert repair_torn_tail(path) == 0
    path.write_text('{"done":[[0,1]]}\n{"done":[[1,2]]}\n')
    assert repair_torn_tail(path) == 0
    assert path.read_text() == '{"done":[[0,1]]}\n{"done":[[1,2]]}\n'
    path.write_bytes(b'{"done":[[0,1]]}\n' + b"\0" * 5000)  # zeros after a power loss
    assert repair_torn_tail(path) == 5000
    assert path.read_text() == '{"done":[[0,1]]}\n'
