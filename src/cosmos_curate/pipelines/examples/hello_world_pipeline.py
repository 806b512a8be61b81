"""Hello world: lower-case prompts, print them, complete them with GPT-2, count words.

This is the pipeline the design guide walks through, plus the answer to the guide's quiz
(`word_count` and `WordCountStage`); the quiz starts from `quiz_start.py`.
"""

from __future__ import annotations

from typing import Any

import attrs
import pydantic

from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.interfaces.pipeline_interface import PipelineResult, execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    CuratorStageSpec,
    PipelineTask,
)
from cosmos_curate.models.gpt2 import GPT2
from cosmos_curate.pipelines.registry import RunOptions, register_pipeline
from cosmos_curate.pipelines.sketch import PipelineSketch, summarize

DEFAULT_PROMPTS = ["The KEY TO A CREATING GOOD art is", "Once upon a time"]


@attrs.define
class HelloWorldTask(PipelineTask):
    """A prompt and what the stages add to it."""

    prompt: str
    output: str | None = None
    word_count: int | None = None


class _LowerCaseStage(CuratorStage[HelloWorldTask, HelloWorldTask]):
    def process_data(self, tasks: list[HelloWorldTask]) -> list[HelloWorldTask] | None:
        for task in tasks:
            task.prompt = task.prompt.lower()
        return tasks

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=1.0, gpus=0.0)


class _PrintStage(CuratorStage[HelloWorldTask, HelloWorldTask]):
    def process_data(self, tasks: list[HelloWorldTask]) -> list[HelloWorldTask] | None:
        for task in tasks:
            print(f"prompt: {task.prompt}")
        return tasks

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=1.0, gpus=0.0)


class _GPT2Stage(CuratorStage[HelloWorldTask, HelloWorldTask]):
    def __init__(self, max_new_tokens: int = 20) -> None:
        self._model = GPT2(max_new_tokens=max_new_tokens)

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=1.0, gpus=1.0)

    @property
    def model(self) -> ModelInterface | None:
        return self._model

    def stage_setup(self) -> None:
        self._model.setup()

    def process_data(self, tasks: list[HelloWorldTask]) -> list[HelloWorldTask] | None:
        generated = self._model.generate([t.prompt for t in tasks])
        for task, text in zip(tasks, generated, strict=True):
            task.output = text
        return tasks


class WordCountStage(CuratorStage[HelloWorldTask, HelloWorldTask]):
    """Counts the words GPT-2 generated (the guide's quiz)."""

    def process_data(self, tasks: list[HelloWorldTask]) -> list[HelloWorldTask] | None:
        for task in tasks:
            task.word_count = len((task.output or "").split())
        return tasks

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5, gpus=0.0)


def build_stages(max_new_tokens: int = 20) -> list[CuratorStage[Any, Any] | CuratorStageSpec]:
    """The hello-world stages, as the guide lists them plus the word counter."""
    return [
        CuratorStageSpec(_LowerCaseStage(), num_workers_per_node=2),
        _PrintStage(),
        _GPT2Stage(max_new_tokens=max_new_tokens),
        WordCountStage(),
    ]


class HelloWorldOptions(pydantic.BaseModel):
    """Options of `curate pipeline run hello-world`."""

    model_config = pydantic.ConfigDict(extra="forbid")

    prompts: list[str] = pydantic.Field(
        default_factory=lambda: list(DEFAULT_PROMPTS), description="prompts to complete"
    )
    max_new_tokens: int = pydantic.Field(default=20, ge=1, le=512, description="tokens to generate")


def describe_hello_world(options: HelloWorldOptions) -> PipelineSketch:
    """The stages and prompts a run would use (`--dry-run`); outputs go to stdout."""
    prompts = summarize("--prompts", "prompts", ((p, None) for p in options.prompts))
    return PipelineSketch((tuple(build_stages(options.max_new_tokens)),), prompts, "stdout")


@register_pipeline("hello-world", HelloWorldOptions, describe=describe_hello_world)
def run_hello_world(options: HelloWorldOptions, run: RunOptions) -> PipelineResult:
    """Run hello-world with these options."""
    tasks = [HelloWorldTask(prompt=p) for p in options.prompts]
    return execute_pipeline(tasks, build_stages(options.max_new_tokens), run)


def main() -> None:
    """`python -m cosmos_curate.pipelines.examples.hello_world_pipeline`: run on embedded Ray."""
    tasks = [HelloWorldTask(prompt=p) for p in DEFAULT_PROMPTS]
    for task in execute_pipeline(tasks, build_stages()).outputs:
        print(f"{task.prompt!r} -> {task.output!r} ({task.word_count} words)")


if __name__ == "__main__":
    main()
