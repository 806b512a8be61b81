"""Dynamic chunking demo: one sentence in, one task per word out, then upper-cased."""

from __future__ import annotations

import attrs
import pydantic

from cosmos_curate.core.interfaces.pipeline_interface import PipelineResult, execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)
from cosmos_curate.pipelines.registry import RunOptions, register_pipeline
from cosmos_curate.pipelines.sketch import PipelineSketch, summarize

DEFAULT_SENTENCES = ["the quick brown fox", "jumps over the lazy dog"]


@attrs.define
class SentenceTask(PipelineTask):
    """A sentence to split, with its position in the input."""

    index: int
    sentence: str


@attrs.define
class WordTask(PipelineTask):
    """One word of a sentence, with where it came from."""

    word: str
    sentence_index: int
    position: int


class SplitWordsStage(CuratorStage[SentenceTask, WordTask]):
    """1 -> N: each sentence becomes one task per word (a new task type)."""

    def process_data(self, tasks: list[SentenceTask]) -> list[WordTask] | None:
        words = []
        for task in tasks:
            for position, word in enumerate(task.sentence.split()):
                words.append(WordTask(word=word, sentence_index=task.index, position=position))
        return words

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)


class UpperCaseStage(CuratorStage[WordTask, WordTask]):
    """Upper-cases each word."""

    def process_data(self, tasks: list[WordTask]) -> list[WordTask] | None:
        for task in tasks:
            task.word = task.word.upper()
        return tasks

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)


class ChunkingOptions(pydantic.BaseModel):
    """Options of `curate pipeline run demo-task-chunking`."""

    model_config = pydantic.ConfigDict(extra="forbid")

    sentences: list[str] = pydantic.Field(
        default_factory=lambda: list(DEFAULT_SENTENCES), description="sentences to split"
    )


def describe_chunking(options: ChunkingOptions) -> PipelineSketch:
    """The stages and sentences a run would use (`--dry-run`); outputs go to stdout."""
    sentences = summarize("--sentences", "sentences", ((s, None) for s in options.sentences))
    return PipelineSketch(((SplitWordsStage(), UpperCaseStage()),), sentences, "stdout")


@register_pipeline("demo-task-chunking", ChunkingOptions, describe=describe_chunking)
def run_chunking(options: ChunkingOptions, run: RunOptions) -> PipelineResult:
    """Run the chunking demo."""
    tasks = [SentenceTask(index=i, sentence=s) for i, s in enumerate(options.sentences)]
    return execute_pipeline(tasks, [SplitWordsStage(), UpperCaseStage()], run)


def main() -> None:
    """`python -m cosmos_curate.pipelines.examples.demo_task_chunking_pipeline`: embedded Ray."""
    tasks = [SentenceTask(index=i, sentence=s) for i, s in enumerate(DEFAULT_SENTENCES)]
    for task in execute_pipeline(tasks, [SplitWordsStage(), UpperCaseStage()]).outputs:
        print(f"sentence {task.sentence_index} word {task.position}: {task.word}")


if __name__ == "__main__":
    main()
