"""The stages that turn chunks into clips: TransNetV2, `shot`, fixed stride, whole video.

Every splitter ends the same way (`ChunkClips.emit`): spans become `ClipTask`s and the chunk's
manifest (its clip ids and how many spans were dropped as too short) is written, so that a
rerun knows when a video is finished.
"""

from __future__ import annotations

import abc

import attrs
import numpy as np

from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource
from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.models.transnetv2 import FRAME_HEIGHT, FRAME_WIDTH, TransNetV2
from cosmos_curate.pipelines.video import decode, sources
from cosmos_curate.pipelines.video.layout import OutputLayout, clip_id_for
from cosmos_curate.pipelines.video.split.shots import CutDetector, detect_shots
from cosmos_curate.pipelines.video.split.spans import (
    LengthRules,
    SpanResult,
    apply_length_rules,
    fixed_stride_result,
    fixed_stride_spans,
    limit_spans,
    spans_from_transitions,
)
from cosmos_curate.pipelines.video.tasks import ChunkTask, ClipTask

SPLIT_ALGORITHMS = ("transnetv2", "shot", "fixed-stride", "whole-video")


@attrs.frozen
class ChunkClips:
    """Turns a chunk's spans into clip tasks and records the chunk's manifest."""

    layout: OutputLayout
    limit_clips: int | None
    inputs: StorageOptions
    """How the sources are read (the run's input storage options)."""

    def emit(self, chunk: ChunkTask, result: SpanResult) -> list[ClipTask]:
        """Clip tasks for `result.spans` (at most `limit_clips`); writes the manifest."""
        result = limit_spans(result, self.limit_clips)
        clips = [
            ClipTask(
                source=chunk.source,
                video_id=chunk.video_id,
                clip_id=clip_id_for(chunk.video_id, a, b),
                meta=chunk.meta,
                chunk_index=chunk.index,
                start_frame=a,
                end_frame=b,
            )
            for a, b in result.spans
        ]
        self.layout.write_json(
            self.layout.chunk_manifest(chunk.video_id, chunk.index),
            {
                "video_id": chunk.video_id,
                "index": chunk.index,
                "num_chunks": chunk.num_chunks,
                "start_frame": chunk.start_frame,
                "end_frame": chunk.end_frame,
                "clip_ids": [c.clip_id for c in clips],
                "dropped_too_short": result.dropped,
            },
        )
        return clips


class ChunkSplitStage(CuratorStage[ChunkTask, ClipTask], abc.ABC):
    """Chunk -> clips: a subclass finds the chunk's spans (`spans_for`), the base emits them.

    Each chunk's spans become clip tasks and its manifest is written (`ChunkClips.emit`); the
    chunk's decoded frames, if any, are let go before its clips go downstream.
    """

    clips: ChunkClips

    def process_data(self, tasks: list[ChunkTask]) -> list[ClipTask] | None:
        """Process a batch; see the class docstring."""
        clips: list[ClipTask] = []
        for chunk in tasks:
            result = self.spans_for(chunk)
            chunk.frames = None
            clips.extend(self.clips.emit(chunk, result))
        return clips

    @abc.abstractmethod
    def spans_for(self, chunk: ChunkTask) -> SpanResult:
        """The chunk's clip spans after the length rules, and the count dropped."""


class ClipSplitStage(ChunkSplitStage):
    """Chunk -> clips by `shot` (frame differences), `fixed-stride` or `whole-video`.

    `fixed-stride` windows are `clip_len_s` long and start every `stride_s`; `whole-video`
    makes the chunk (the whole video) one clip. Both skip decoding entirely.
    """

    def __init__(
        self,
        clips: ChunkClips,
        algorithm: str,
        rules: LengthRules,
        *,
        clip_len_s: float = 10.0,
        stride_s: float | None = None,
        detector: CutDetector | None = None,
    ) -> None:
        if algorithm not in ("shot", "fixed-stride", "whole-video"):
            msg = f"ClipSplitStage runs shot, fixed-stride or whole-video, not {algorithm!r}"
            raise ValueError(msg)
        self.clips = clips
        self.algorithm = algorithm
        self.rules = rules
        self.clip_len_s = clip_len_s
        self.stride_s = stride_s
        self.detector = detector or CutDetector()

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        # Shot detection decodes every frame of the chunk: one core. The others only count.
        return CuratorStageResource(cpus=1.0 if self.algorithm == "shot" else 0.25)

    def spans_for(self, chunk: ChunkTask) -> SpanResult:
        """The chunk's clip spans after the length rules, and the count dropped."""
        fps = chunk.meta.fps
        start, end = chunk.start_frame, chunk.end_frame
        if self.algorithm == "fixed-stride":
            windows = fixed_stride_spans(start, end, fps, self.clip_len_s, self.stride_s)
            return fixed_stride_result(windows, fps, self.rules.min_s)
        if self.algorithm == "whole-video":
            return fixed_stride_result([(start, end)], fps, self.rules.min_s)
        path = sources.local_path(chunk.source, self.clips.inputs)
        return apply_length_rules(detect_shots(path, chunk, self.detector), fps, self.rules)


class TransNetFramesStage(CuratorStage[ChunkTask, ChunkTask]):
    """Decodes a chunk into 48x27 RGB frames for TransNetV2 (CPU, ahead of the model stage)."""

    def __init__(self, inputs: StorageOptions) -> None:
        self.inputs = inputs

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        # Decoding full-size frames dominates: one core.
        return CuratorStageResource(cpus=1.0)

    def process_data(self, tasks: list[ChunkTask]) -> list[ChunkTask] | None:
        """Process a batch; see the class docstring."""
        for chunk in tasks:
            path = sources.local_path(chunk.source, self.inputs)
            arrays = [
                array
                for _, array in decode.frames_as_arrays(
                    path,
                    chunk.start_frame,
                    chunk.end_frame,
                    width=FRAME_WIDTH,
                    height=FRAME_HEIGHT,
                    analysis=True,
                )
            ]
            if not arrays:
                span = f"[{chunk.start_frame}, {chunk.end_frame})"
                msg = f"{chunk.source}: no frame decoded in {span}"
                raise decode.UnreadableVideoError(msg)
            chunk.frames = np.stack(arrays)
        return tasks


class TransNetV2SplitStage(ChunkSplitStage):
    """Shot transitions from TransNetV2 (`threshold` on its per-frame probability) -> clips.

    Runs on a fraction of a GPU (`gpus`) when the cluster has one; on a cluster without
    GPUs the runtime runs it on CPU, on the one core a worker reserves (about 75 frames/s
    per worker here), and adds workers when it is the slowest stage. A model given without
    `threads` gets that one thread: torch's threads on every core, beside the transcoding
    workers on the same cores, cost video-split 1.3-1.4x the CPU time (5 min of 1080p: 378
    and 406 CPU s with two threads, 283 s with one).
    """

    def __init__(
        self,
        clips: ChunkClips,
        model: TransNetV2,
        rules: LengthRules,
        threshold: float = 0.4,
        gpus: float = 0.25,
    ) -> None:
        self.clips = clips
        self._model = model
        self.rules = rules
        self.threshold = threshold
        self.gpus = gpus
        if model.threads is None:
            model.threads = max(1, int(self.resources.cpus))

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        return CuratorStageResource(cpus=1.0, gpus=self.gpus)

    @property
    def model(self) -> ModelInterface | None:
        """The model whose weights and env this stage uses."""
        return self._model

    def spans_for(self, chunk: ChunkTask) -> SpanResult:
        """Shots of the chunk's decoded frames after the length rules."""
        if chunk.frames is None:
            msg = f"chunk {chunk.index} of {chunk.source} reached TransNetV2 without frames"
            raise ValueError(msg)
        probs = self._model.predict(chunk.frames)
        shots = spans_from_transitions(probs > self.threshold, offset=chunk.start_frame)
        return apply_length_rules(shots, chunk.meta.fps, self.rules)
