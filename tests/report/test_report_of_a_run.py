"""A real run leaves a report page that a real browser draws: every chart, no console noise."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import attrs
import pytest
from tests.report.browser import load

from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    CuratorStageSpec,
    PipelineTask,
)
from cosmos_curate.report import SERIES_FILE, read_series

pytestmark = pytest.mark.integration


@attrs.define
class Clip(PipelineTask):
    id: int


class Decode(CuratorStage[Clip, Clip]):
    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Clip]) -> list[Clip] | None:
        time.sleep(0.005 * len(tasks))
        return tasks


class Embed(CuratorStage[Clip, Clip]):
    """A (declared) GPU stage, slower than Decode; clip 13 is broken."""

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5, gpus=0.25)

    def process_data(self, tasks: list[Clip]) -> list[Clip] | None:
        time.sleep(0.03 * len(tasks))
        if any(t.id == 13 for t in tasks):
            msg = "clip 13: no video stream"
            raise ValueError(msg)
        return tasks


def test_a_run_leaves_a_report_every_chart_draws(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    """The result names report.html; Chromium draws each chart with data, logs nothing."""
    result = execute_pipeline(
        [Clip(i) for i in range(160)],
        [Decode(), CuratorStageSpec(Embed(), num_run_attempts_python=1)],
        ignore_failures=True,
    )
    assert result.report_path is not None and result.report_path.is_file()
    series = read_series(result.report_path.parent)
    assert (result.report_path.parent / SERIES_FILE).is_file()
    assert len(series.points) >= 3
    assert series.end is not None and series.end["outcome"] == "finished"
    assert any(e["type"] == "plan" for e in series.events)

    page = load(result.report_path, tmp_path / "profile")
    assert page.console == []
    charts = page.charts()
    assert set(charts) == {f"chart-{k}-0" for k in
                           ("throughput", "workers", "queues", "gpu", "cpu", "memory")}  # fmt: skip
    for chart_id in charts:
        assert page.drawn_lines(chart_id) >= 1, chart_id
    assert "ValueError: clip N: no video stream" in page.dom  # failures grouped by cause
    assert "Decode" in page.dom and "Embed" in page.dom
