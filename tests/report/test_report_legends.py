"""The report's legends never cover the charts they explain, as Chromium lays the page out."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import attrs
import pytest
from tests.report.browser import LEGEND_CHECK, checked

from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)

pytestmark = pytest.mark.integration


@attrs.define
class Clip(PipelineTask):
    id: int


class VideoDownloadStage(CuratorStage[Clip, Clip]):
    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    def process_data(self, tasks: list[Clip]) -> list[Clip] | None:
        time.sleep(0.01 * len(tasks))
        return tasks


class VideoTranscodeStage(VideoDownloadStage):
    def process_data(self, tasks: list[Clip]) -> list[Clip] | None:
        time.sleep(0.04 * len(tasks))
        return tasks


class ClipEmbeddingStage(VideoDownloadStage):
    """A (declared) GPU stage: the page gets its GPU chart too."""

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5, gpus=0.25)


class ClipWriterStage(VideoDownloadStage):
    pass


WIDTHS = (1400, 800, 560)
"""Page widths checked: wide, a laptop's, a column of runs shown side by side."""


def test_no_legend_covers_its_plot_or_x_axis(ray_cluster: dict[str, Any], tmp_path: Path) -> None:
    """A real four-stage run's page at several widths: in every chart the legend box
    intersects neither the plot area nor the x axis's title and tick labels, and stays inside
    its chart (getBoundingClientRect in Chromium, after Plotly re-laid each chart out)."""
    stages = [VideoDownloadStage(), VideoTranscodeStage(), ClipEmbeddingStage(), ClipWriterStage()]
    result = execute_pipeline([Clip(i) for i in range(24)], stages)
    assert result.report_path is not None
    call = f"legendCheck({list(WIDTHS)})"
    found = checked(result.report_path, LEGEND_CHECK, call, tmp_path / "profile", "1400,1600")
    kinds = ("throughput", "workers", "queues", "gpu", "cpu", "memory")
    assert set(found) == {str(w) for w in WIDTHS}
    for width, charts in found.items():
        assert set(charts) == {f"chart-{k}-0" for k in kinds}, width
        for chart_id, chart in charts.items():
            where = (width, chart_id)
            assert chart["legend"], where
            assert all(n > 0 for n in chart["found"].values()), (where, chart["found"])
            assert chart["overlaps"] == [], (where, chart)
            assert chart["inside"], (where, chart)
