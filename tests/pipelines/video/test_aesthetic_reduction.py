"""Per-frame aesthetic scores reduced to the clip's by `min` (upstream's default) or `mean`.

Frames come from a real clip made with ffmpeg (a 2 s colour-changing pan) through the
pipeline's own frame extraction; the models are the tiny random-init CLIP and head. No Ray.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np
import pytest
from tests.pipelines.video import _synth
from tests.pipelines.video._ffmpeg_inputs import ffmpeg

from cosmos_curate.models.aesthetics import AESTHETIC_MODEL_ID, ClipAesthetics
from cosmos_curate.models.clip import CLIP_MODEL_ID, ClipImagePreprocessor
from cosmos_curate.pipelines.video import decode
from cosmos_curate.pipelines.video.embedding import AestheticReduction, ClipEmbeddingStage
from cosmos_curate.pipelines.video.frames import FrameExtractionStage
from cosmos_curate.pipelines.video.split.pipeline import VideoSplitOptions, build_stages
from cosmos_curate.pipelines.video.tasks import ClipTask


def _clip(path: Path) -> ClipTask:
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=320x96:rate=25:duration=2",
        "-vf", "crop=96:96:n*4:0,hue=h=t*90", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    meta = decode.probe(path)
    return ClipTask(
        source=str(path), video_id="v", clip_id="c", meta=meta, chunk_index=0, start_frame=0,
        end_frame=meta.num_frames, encoded=path.read_bytes(),
    )  # fmt: skip


def test_both_reductions_of_the_frame_scores(isolated_dirs: Path) -> None:
    """min and mean of the sampled frames' scores; the clip's metadata names the reduction."""
    _synth.save_tiny_clip(CLIP_MODEL_ID)
    _synth.save_tiny_aesthetic_head(AESTHETIC_MODEL_ID)
    preprocessor = ClipImagePreprocessor()
    preprocessor.setup()
    task = _clip(isolated_dirs / "clip.mp4")
    FrameExtractionStage(2.0, preprocessor, keep_frames=False).process_data([task])
    assert task.embedding_inputs is not None and len(task.embedding_inputs) == 4
    inputs = task.embedding_inputs
    model = ClipAesthetics()
    model.setup()
    _, per_frame = model.embed_and_score(inputs)
    assert len(set(per_frame.tolist())) == 4  # the frames score differently

    scored = {}
    for reduction in AestheticReduction:
        clip = attrs.evolve(task, embedding_inputs=inputs.copy(), annotations={})
        stage = ClipEmbeddingStage(model, None, aesthetic_reduction=reduction)
        stage.process_data([clip])
        assert clip.annotations["aesthetic_reduction"] == reduction.value
        scored[reduction] = clip.aesthetic_score
    assert scored[AestheticReduction.MIN] == pytest.approx(float(per_frame.min()), abs=1e-5)
    assert scored[AestheticReduction.MEAN] == pytest.approx(float(np.mean(per_frame)), abs=1e-5)
    assert scored[AestheticReduction.MIN] < scored[AestheticReduction.MEAN]


def test_a_threshold_between_min_and_mean_drops_only_under_min(isolated_dirs: Path) -> None:
    """A clip whose worst frame is below the threshold is dropped by min, kept by mean."""
    _synth.save_tiny_clip(CLIP_MODEL_ID)
    _synth.save_tiny_aesthetic_head(AESTHETIC_MODEL_ID)
    preprocessor = ClipImagePreprocessor()
    preprocessor.setup()
    task = _clip(isolated_dirs / "clip.mp4")
    FrameExtractionStage(2.0, preprocessor, keep_frames=False).process_data([task])
    assert task.embedding_inputs is not None
    model = ClipAesthetics()
    model.setup()
    _, per_frame = model.embed_and_score(task.embedding_inputs)
    threshold = (float(per_frame.min()) + float(per_frame.mean())) / 2
    outcome = {}
    for reduction in AestheticReduction:
        clip = attrs.evolve(task, embedding_inputs=task.embedding_inputs, annotations={})
        ClipEmbeddingStage(model, threshold, aesthetic_reduction=reduction).process_data([clip])
        outcome[reduction] = clip.filtered_by
    assert outcome == {AestheticReduction.MIN: "aesthetic", AestheticReduction.MEAN: None}


def test_video_split_reduces_by_min_unless_told(tmp_path: Path) -> None:
    """video-split's default is upstream's `min`; `--aesthetic-reduction mean` reaches the stage."""
    base = {"input_path": str(tmp_path), "output_path": str(tmp_path / "out"),
            "splitting_algorithm": "shot", "skip_captions": True}  # fmt: skip

    def reduction(**extra: object) -> AestheticReduction:
        stages = [getattr(s, "stage", s) for s in build_stages(VideoSplitOptions(**base, **extra))]
        (stage,) = [s for s in stages if isinstance(s, ClipEmbeddingStage)]
        return stage.aesthetic_reduction

    assert reduction() is AestheticReduction.MIN
    assert reduction(aesthetic_reduction="mean") is AestheticReduction.MEAN
