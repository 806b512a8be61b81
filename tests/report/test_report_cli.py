"""`curate report`: the last run, a named run, two runs side by side, bad names."""

from __future__ import annotations

import time
import webbrowser
from pathlib import Path

import pytest
from tests.report.fake_progress import progress

from cosmos_curate.cli.main import run as curate
from cosmos_curate.core.runs import create_run
from cosmos_curate.report import RunRecorder, StageInfo


def _record(folder: Path, seconds: int) -> Path:
    recorder = RunRecorder(folder, [StageInfo("decode", 1, 0), StageInfo("embed", 1, 0.5)],
                           cluster_cpus=4, cluster_gpus=1)  # fmt: skip
    for k in range(seconds * 2 + 1):
        recorder(progress(k * 0.5, finished=k == seconds * 2))
    recorder.close()
    return folder


def test_no_run_named_renders_the_last_one(
    isolated_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no RUN the newest recorded run's page is written in its folder; its path printed."""
    _record(create_run("older").folder, 3)
    newest = _record(create_run("newest").folder, 4)
    assert curate(["report"]) == 0
    assert capsys.readouterr().out.strip() == str((newest / "report.html").resolve())
    assert "newest" in (newest / "report.html").read_text()


def test_the_last_run_is_a_marked_run_folder(
    isolated_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A newer folder under the runs folder that no run marked (an output, a copy) is not
    "the last run", even when it holds a series."""
    run = _record(create_run("hello-world").folder, 3)
    _record(isolated_dirs / "runs" / "not-a-run", 4)
    assert curate(["report"]) == 0
    assert capsys.readouterr().out.strip() == str((run / "report.html").resolve())
    assert not (isolated_dirs / "runs" / "not-a-run" / "report.html").exists()


def test_an_unwritable_output_is_one_error_line(
    isolated_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`-o` where no file can be written: exit 2, one line naming `-o PATH`, nothing left."""
    run = _record(create_run("hello-world").folder, 3)
    before = sorted(run.iterdir())
    assert curate(["report", "-o", "/proc/x.html"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: -o /proc/x.html"), err
    assert ".tmp" not in err[0]
    assert sorted(run.iterdir()) == before


def test_two_runs_side_by_side(isolated_dirs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two runs (by folder name) make one page with both, each chart once per run."""
    runs = isolated_dirs / "runs"
    _record(runs / "a", 3)
    _record(runs / "b", 5)
    out = isolated_dirs / "ab.html"
    assert curate(["report", "a", str(runs / "b"), "-o", str(out)]) == 0
    page = out.read_text()
    assert "curate run report: a vs b" in page
    assert 'id="chart-throughput-0"' in page and 'id="chart-throughput-1"' in page


@pytest.mark.parametrize("name", ["no-such-run", "."])
def test_a_folder_without_a_series_is_one_error_line(
    name: str, isolated_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name that is no recorded run: exit 2, one error line, nothing written."""
    assert curate(["report", name]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no recorded run at")
    assert not list(isolated_dirs.rglob("*.html"))


def test_no_run_recorded_yet(isolated_dirs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`curate report` before any run: exit 2 and says to run a pipeline first."""
    assert curate(["report"]) == 2
    assert "run a pipeline first" in capsys.readouterr().err


def test_a_series_without_header_is_rejected(
    isolated_dirs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file named series.jsonl that is no run's series: one error line, exit 2."""
    folder = isolated_dirs / "runs" / "junk"
    folder.mkdir(parents=True)
    (folder / "series.jsonl").write_text("not json\n")
    assert curate(["report", str(folder)]) == 2
    assert "no header line" in capsys.readouterr().err


def test_open_hands_the_page_to_the_browser(
    isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--open starts the user's browser ($BROWSER) on the written page's file URL."""
    folder = _record(isolated_dirs / "runs" / "one", 2)
    seen = isolated_dirs / "opened.txt"
    browser = isolated_dirs / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {seen}\n')
    browser.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(browser))
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # re-read $BROWSER
    assert curate(["report", "one", "--open"]) == 0
    for _ in range(50):  # the browser runs in the background
        if seen.is_file():
            break
        time.sleep(0.1)
    assert seen.read_text().strip() == (folder / "report.html").resolve().as_uri()
