"""The design guide's quiz before it is solved: hello world without the word counter.

docs/PIPELINE_DESIGN_GUIDE.md ("Quiz: Adding WordCount Stage to Hello-World Pipeline") asks
for a `word_count` field on `HelloWorldTask` and a `WordCountStage` after `_GPT2Stage`.
Start from this module (copy it, or edit it in a clone) and run it with

    python -m cosmos_curate.pipelines.examples.quiz_start

It lower-cases the prompts, prints them and completes them with GPT-2, and counts nothing.
The shipped hello-world pipeline (`hello_world_pipeline.py`, `curate pipeline run
hello-world`) is the answer.
"""

from __future__ import annotations

from typing import Any

import attrs

from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageSpec,
    PipelineTask,
)
from cosmos_curate.pipelines.examples.hello_world_pipeline import (
    DEFAULT_PROMPTS,
    _GPT2Stage,
    _LowerCaseStage,
    _PrintStage,
)


@attrs.define
class HelloWorldTask(PipelineTask):
    """A prompt and GPT-2's completion (the quiz adds `word_count`)."""

    prompt: str
    output: str | None = None


def build_stages(max_new_tokens: int = 20) -> list[CuratorStage[Any, Any] | CuratorStageSpec]:
    """The guide's three hello-world stages (the quiz appends a `WordCountStage`)."""
    return [
        CuratorStageSpec(_LowerCaseStage(), num_workers_per_node=2),
        _PrintStage(),
        _GPT2Stage(max_new_tokens=max_new_tokens),
    ]


def main() -> None:
    """`python -m cosmos_curate.pipelines.examples.quiz_start`: run on embedded Ray."""
    tasks = [HelloWorldTask(prompt=p) for p in DEFAULT_PROMPTS]
    for task in execute_pipeline(tasks, build_stages()).outputs:
        print(f"{task.prompt!r} -> {task.output!r}")


if __name__ == "__main__":
    main()
