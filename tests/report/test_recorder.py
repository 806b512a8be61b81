"""The recorder: bounded series, events read off progress records, files a kill cannot break."""

from __future__ import annotations

import json
from pathlib import Path

from tests.report.fake_progress import progress

from cosmos_curate.report import RunRecorder, StageInfo, read_series
from cosmos_curate.report.recorder import outcome_of

STAGES = [StageInfo("decode", 1.0, 0.0), StageInfo("embed", 1.0, 0.5)]


def _recorder(folder: Path, **kwargs: int) -> RunRecorder:
    return RunRecorder(folder, STAGES, cluster_cpus=4, cluster_gpus=1, **kwargs)


def test_every_point_is_on_disk_at_once(tmp_path: Path) -> None:
    """What was recorded is readable while the run goes (a kill keeps it): no close needed."""
    recorder = _recorder(tmp_path / "run")
    for k in range(6):
        recorder(progress(k * 0.5))
    series = read_series(tmp_path / "run")
    assert [p.t for p in series.points] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert series.end is None
    assert series.points[-1].value(1, "done") == 25


def test_a_long_run_stays_bounded_and_covers_the_whole_run(tmp_path: Path) -> None:
    """Past max_points older points are thinned: the count stays bounded, start and end kept."""
    recorder = _recorder(tmp_path / "run", max_points=100)
    for k in range(5000):
        recorder(progress(k * 0.5))
    recorder(progress(2500.0, finished=True))
    recorder.close()
    series = read_series(tmp_path / "run")
    assert 50 <= len(series.points) <= 101
    assert series.points[0].t == 0.0 and series.points[-1].t == 2500.0
    gaps = [b.t - a.t for a, b in zip(series.points, series.points[1:-1], strict=False)]
    assert max(gaps) <= 2 * min(gaps)  # an even resolution over the whole run (final aside)
    assert (tmp_path / "run" / "series.jsonl").stat().st_size < 100_000
    assert series.end is not None and series.end["outcome"] == "finished"


def test_decisions_deaths_and_end_of_input_become_events(tmp_path: Path) -> None:
    """A target change is a plan event with a reason; lost workers and input end are marked."""
    recorder = _recorder(tmp_path / "run")
    recorder(progress(0.0))
    recorder(progress(1.0, target_b=4))
    recorder(progress(2.0, target_b=4, lost=1))
    recorder(progress(3.0, target_b=4, lost=1, exhausted=True))
    events = read_series(tmp_path / "run").events
    plans = [e for e in events if e["type"] == "plan"]
    assert [(e["stage"], e["from"], e["to"]) for e in plans] == [
        ("decode", 0, 1), ("embed", 0, 2), ("embed", 2, 4),
    ]  # fmt: skip
    assert "slowest stage" in plans[-1]["why"]
    assert [e["stage"] for e in events if e["type"] == "worker_lost"] == ["embed"]
    assert [e["t"] for e in events if e["type"] == "input_done"] == [3.0]


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    """A writer killed mid-line leaves a file that still reads (the torn line dropped)."""
    recorder = _recorder(tmp_path / "run")
    recorder(progress(0.0))
    recorder(progress(1.0))
    with (tmp_path / "run" / "series.jsonl").open("a") as file:
        file.write('{"k":"p","t":2.0,"in":')
    assert len(read_series(tmp_path / "run").points) == 2


def test_the_page_is_written_on_error_with_the_error_line(tmp_path: Path) -> None:
    """An ExitStack exit with an exception records the outcome and still renders the page."""
    recorder = _recorder(tmp_path / "run")
    recorder(progress(0.0))
    recorder(progress(1.0))
    error = RuntimeError("stage embed: CUDA out of memory\nmore")
    assert recorder.exit(RuntimeError, error, None) is False
    assert recorder.report_path == tmp_path / "run" / "report.html"
    page = recorder.report_path.read_text()
    assert "RuntimeError: stage embed: CUDA out of memory" in page
    end = json.loads((tmp_path / "run" / "series.jsonl").read_text().splitlines()[-1])
    assert end["outcome"] == "failed"
    assert outcome_of(KeyboardInterrupt()) == ("interrupted", "interrupted (Ctrl-C)")


def test_events_stay_bounded_with_the_first_and_newest_kept(tmp_path: Path) -> None:
    """A planner that changes its mind all the time: events capped, the first and last kept."""
    recorder = _recorder(tmp_path / "run", max_events=40)
    for k in range(400):
        recorder(progress(k * 0.5, target_b=2 + k % 2))
    recorder.close()
    series = read_series(tmp_path / "run")
    assert len(series.events) <= 41
    assert series.events[0]["why"] == "first plan"
    assert series.events[-1]["t"] == 199.5
    assert series.end is not None and series.end["events_dropped"] > 300
