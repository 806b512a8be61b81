"""What a real run's report page says: small runs are not judged, long calls are."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import attrs
import psutil
import pytest
from tests.report.browser import load

from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)
from cosmos_curate.core.runs import create_run, run_summary
from cosmos_curate.report import read_series
from cosmos_curate.report.analysis import bottleneck_sentence
from cosmos_curate.report.series import SERIES_FILE

pytestmark = pytest.mark.integration


@attrs.define
class Item(PipelineTask):
    id: int


class Count(CuratorStage[Item, Item]):
    """A quick stage whose declared conda env does not exist here (a run warning)."""

    conda_env_name = "no-such-env-for-the-report"

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Item]) -> list[Item] | None:
        return tasks


class Spin(CuratorStage[Item, Item]):
    """One call that keeps a core busy for `seconds` (a video being split), and on until the
    run's recorder has appended `points` lines to `series` meanwhile: a loaded machine's
    recorder may sample less often than every 0.5 s, and the test counts samples, not time."""

    seconds = 8.0
    points = 16

    def __init__(self, series: Path) -> None:
        self.series = series

    def _lines(self) -> int:
        return len(self.series.read_bytes().splitlines()) if self.series.exists() else 0

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Item]) -> list[Item] | None:
        start = time.monotonic()
        first = self._lines()
        while time.monotonic() - start < self.seconds or (
            self._lines() - first < self.points and time.monotonic() - start < 120
        ):
            sum(range(100_000))
        return tasks


def test_a_two_task_run_reads_as_too_short_to_judge(
    ray_cluster: dict[str, Any], isolated_dirs: Path
) -> None:
    """Two tasks: no "% of ideal", no bottleneck named on set-up, the wall time equals
    summary.json's, the missing conda env is listed under Warnings; Chromium draws it."""
    run = create_run("two-tasks")
    result = execute_pipeline([Item(0), Item(1)], [Count()], run_dir=run.folder)
    summary = run_summary(run, result, 0, None)
    assert result.report_path is not None
    page = load(result.report_path, isolated_dirs / "profile")
    assert page.console == []
    text = re.sub(r"<[^>]+>", "", page.dom)
    assert "of ideal" not in text and "too few inputs (2)" in text
    assert "is the bottleneck" not in text and "Too short to judge a bottleneck" in text
    walls = re.findall(r"wall time\d+:\d\d \(([\d.]+) s\)", text)
    assert walls == [f"{summary['elapsed_s']:.1f}"], (walls, summary["elapsed_s"])
    assert "set-up (Ray and worker start, model load)" in text
    warnings = page.dom.split('<ul class="warnings">', 1)[1].split("</ul>", 1)[0]
    assert "conda env 'no-such-env-for-the-report' not found" in warnings
    cores = psutil.cpu_count(logical=False) or 0
    if 0 < cores < 4:  # the test cluster declares 4 logical CPUs
        assert f"This machine has {cores} physical cores" in text


def test_a_single_long_call_is_the_bottleneck(
    ray_cluster: dict[str, Any], isolated_dirs: Path
) -> None:
    """One task that Spin works on for 8 s and 16 recorded points: Spin is named from its
    busy time, though no queue built up and Count finished at once; its CPU and memory are
    read while the call runs, not only when it returns."""
    run = create_run("one-long-task")
    stages = [Count(), Spin(run.folder / SERIES_FILE)]
    result = execute_pipeline([Item(0)], stages, run_dir=run.folder)
    series = read_series(run.folder)
    sentence = bottleneck_sentence(series)
    assert sentence.startswith("Spin is the bottleneck"), sentence
    in_call = [p for p in series.points if p.value(1, "busy") > 0]
    assert len(in_call) >= 10, [(p.t, p.stages[1]) for p in series.points]
    during = [p for p in in_call if p.value(1, "done") == 0]  # the call has not returned
    cpu = [p.value(1, "cpu_percent") for p in during]
    assert max(cpu) > 0, cpu  # read while the call runs (a shared core: any share, not 100%)
    assert min(p.value(1, "rss_bytes") for p in during[-3:]) > 0
    assert result.report_path is not None
    assert sentence in result.report_path.read_text()
