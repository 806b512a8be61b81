"""Several runtime pipelines run one after another as one user-facing run.

`Runs` passes the same options (and failure-records file) to each `execute_pipeline`, writes
records for the videos a stage reported as unreadable, and merges the results into one, so
`curate pipeline run` shows every stage and counts every failure. The first pipeline starts
(or joins) Ray and the others reuse it until `close()`: an embedded cluster per pipeline
cost a Ray start-up each (seconds; tens on a busy machine).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import as_stage_spec
from cosmos_curate.core.runtime.run_options import RunOptions
from cosmos_curate.pipelines.video.dedup.split_output import VideoClips, group_videos
from cosmos_curate.pipelines.video.dedup.stages import EmbeddingChunkTask
from cosmos_curate.pipelines.video.dedup.summary import append_failures


def chunk_videos(videos: Sequence[VideoClips], chunk_size: int) -> list[EmbeddingChunkTask]:
    """Consecutive groups of whole videos holding about `chunk_size` clips each."""
    groups = group_videos(videos, chunk_size)
    return [EmbeddingChunkTask(index, group) for index, group in enumerate(groups)]


def sample_videos(videos: Sequence[VideoClips], clips: int, seed: int) -> list[VideoClips]:
    """Randomly chosen (seeded) whole videos holding at least `clips` clips, in id order."""
    chosen: list[int] = []
    count = 0
    for index in np.random.default_rng(seed).permutation(len(videos)):
        if count >= clips:
            break
        chosen.append(int(index))
        count += len(videos[index].clip_ids)
    return [videos[i] for i in sorted(chosen)]


@attrs.define
class Runs:
    """Runs pipelines with shared options and keeps what the final result needs."""

    run_options: RunOptions
    """Every run's options (`bind_run` set its folder and failure records file)."""
    kind: str = "video"
    """What a failed group is called in its failure record (`video <id>`, `image <id>`)."""
    results: list[Any] = attrs.field(factory=list)
    failed_video_ids: set[str] = attrs.field(factory=set)
    video_failures: int = 0
    _connection: Any = attrs.field(default=None, init=False, repr=False)

    def run(self, tasks: Iterable[Any], stages: list[Any], stage_name: str) -> list[Any]:
        """One pipeline over `tasks`; returns the last stage's outputs."""
        self._hold_ray(stages)
        result = execute_pipeline(list(tasks), stages, self.run_options, collect_outputs=True)
        outputs = list(result.outputs)
        failed = [f for task in outputs for f in getattr(task, "failed_videos", [])]
        self.record(result, failed, stage_name)
        return outputs

    def record(
        self, result: Any | None, failed: list[tuple[str, str, str]], stage_name: str
    ) -> None:
        """Keep a run's result; write records for its `failed` groups not recorded before.

        `failed`: `(group id, error, traceback)`; a run made without Ray records its own here.
        """
        if result is not None:
            self.results.append(result)
        new = [f for f in failed if f[0] not in self.failed_video_ids]
        path = self.run_options.failures_path
        if path is not None:
            append_failures(path, new, stage_name, self.kind)
        self.failed_video_ids |= {f[0] for f in new}
        self.video_failures += len(new)

    def close(self) -> None:
        """Let go of Ray: an embedded cluster the first pipeline started stops here."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _hold_ray(self, stages: list[Any]) -> None:
        """Connect as `execute_pipeline` would, once; its own connect then reuses this one."""
        if self._connection is not None:
            return
        # Ray is imported only when a pipeline runs (see core.interfaces.pipeline_interface).
        from cosmos_curate.core.runtime.session import connect_for

        self._connection = connect_for([as_stage_spec(s) for s in stages], self.run_options)

    @property
    def failures_path(self) -> Path | None:
        """The failure records file, once there is a failure (None before)."""
        return self.run_options.failures_path if self.num_failures else None

    @property
    def num_failures(self) -> int:
        """Failure records of every run so far (tasks the runtime gave up on, bad videos)."""
        return int(sum(r.num_failures for r in self.results)) + self.video_failures

    def combined_result(self) -> Any:
        """The last run's result with every run's stages, failures and time."""
        last = self.results[-1]
        progress = attrs.evolve(
            last.progress,
            stages=tuple(s for r in self.results for s in r.progress.stages),
            elapsed_s=sum(r.progress.elapsed_s for r in self.results),
            failures=self.num_failures,
        )
        return attrs.evolve(
            last,
            outputs=[],
            num_failures=self.num_failures,
            failures_path=self.failures_path,
            progress=progress,
        )
