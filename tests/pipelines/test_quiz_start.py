"""The design guide's quiz is answerable: its starting point runs and counts no words; the
shipped hello-world, its answer, does."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name
from cosmos_curate.models.gpt2 import GPT2_MODEL_ID
from cosmos_curate.models.tiny_random_gpt2 import save_tiny_gpt2
from cosmos_curate.pipelines.examples import hello_world_pipeline, quiz_start

pytestmark = pytest.mark.integration
PROMPTS = ["Once upon a time", "The KEY"]


def test_quiz_start_runs_without_word_counts_and_the_answer_counts_them(
    ray_cluster: dict[str, Any],
) -> None:
    """The starting point completes the prompts with tiny GPT-2 and has no word counts; the
    answer is the same stages plus `WordCountStage`, which counts each completion's words
    (hello-world's own end-to-end run is tests/cli/test_pipeline_cli.py's)."""
    save_tiny_gpt2(get_local_dir_for_weights_name(GPT2_MODEL_ID))
    start = execute_pipeline(
        [quiz_start.HelloWorldTask(prompt=p) for p in PROMPTS], quiz_start.build_stages(5)
    )
    assert sorted(t.prompt for t in start.outputs) == ["once upon a time", "the key"]
    assert all(t.output for t in start.outputs)
    assert "word_count" not in {f.name for f in attrs.fields(quiz_start.HelloWorldTask)}
    assert all(not hasattr(t, "word_count") for t in start.outputs)

    names = [_name(s) for s in hello_world_pipeline.build_stages()]
    assert names == [_name(s) for s in quiz_start.build_stages()] + ["WordCountStage"]
    done = [hello_world_pipeline.HelloWorldTask(prompt=t.prompt, output=t.output)
            for t in start.outputs]  # fmt: skip
    counted = hello_world_pipeline.WordCountStage().process_data(done)
    assert counted is not None
    assert [t.word_count for t in counted] == [len((t.output or "").split()) for t in done]
    assert all(t.word_count for t in counted)


def _name(stage: object) -> str:
    return type(getattr(stage, "stage", stage)).__name__
