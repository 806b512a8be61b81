"""The report's bottleneck and set-up/processing split, from busy time over the run."""

from __future__ import annotations

from pathlib import Path

import attrs
from tests.report.fake_progress import stage

from cosmos_curate.core.interfaces.results import PipelineProgress
from cosmos_curate.report import RunRecorder, StageInfo, read_series
from cosmos_curate.report.analysis import bottleneck_sentence
from cosmos_curate.report.busy import phases


def _video_run(folder: Path, seconds: int) -> Path:
    """One video: ingest is done in a second, then the splitter's one call runs to the end."""
    recorder = RunRecorder(folder, [StageInfo("VideoIngestStage", 1, 0),
                                    StageInfo("TransNetV2Stage", 1, 0)],
                           cluster_cpus=4, cluster_gpus=0)  # fmt: skip
    for k in range(seconds * 2 + 1):
        t = k * 0.5
        ingest = attrs.evolve(stage("VideoIngestStage", t, rate=0.0, target=1, busy=int(t < 1)),
                              tasks_done=int(t >= 1), workers_idle=int(t >= 1))  # fmt: skip
        split = attrs.evolve(stage("TransNetV2Stage", t, rate=0.0, target=1, busy=int(t >= 1)),
                             workers_idle=int(t < 1), tasks_done=int(t == seconds))  # fmt: skip
        recorder(PipelineProgress(stages=(ingest, split), elapsed_s=t, inputs_read=1,
                                  input_exhausted=True, outputs=0, failures=0,
                                  finished=t == seconds))  # fmt: skip
    recorder.close()
    return folder


def test_one_long_task_names_its_stage(tmp_path: Path) -> None:
    """A stage whose single call keeps it busy is the bottleneck, though no queue built up
    and the first stage was busy all of its (short) live time."""
    series = read_series(_video_run(tmp_path / "run", 60))
    sentence = bottleneck_sentence(series)
    assert sentence.startswith("TransNetV2Stage is the bottleneck"), sentence
    assert "VideoIngestStage" not in sentence
    busy = {s.name: s for s in phases(series).stages}
    assert busy["TransNetV2Stage"].busy_s > 55
    assert busy["TransNetV2Stage"].share > 0.9
    assert busy["VideoIngestStage"].share < 0.1


def test_a_short_run_is_not_judged(tmp_path: Path) -> None:
    """Two seconds of calls: the sentence says the run was too short, names no bottleneck."""
    series = read_series(_video_run(tmp_path / "run", 2))
    sentence = bottleneck_sentence(series)
    assert sentence.startswith("Too short to judge a bottleneck"), sentence
    assert "is the bottleneck" not in sentence
