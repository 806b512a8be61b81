"""What pipelines exist, known without importing them: name, summary, module, needs.

`curate pipeline list` and `--help` read this table; a pipeline's module (and the heavy
libraries it pulls in: PyAV, pyarrow, faiss, torch) is imported only when that pipeline is
resolved to run or to show its options. A pipeline whose optional modules are missing is
still listed, with the one install command that brings them all.
"""

from __future__ import annotations

import importlib.util

import attrs


@attrs.frozen
class PipelineInfo:
    """A pipeline as the catalog knows it before its module is imported."""

    name: str
    summary: str
    module: str
    """Importing this module registers the pipeline (`register_pipeline`)."""
    needs: tuple[str, ...] = ()
    """Top-level modules outside the base install that importing `module` needs."""
    extra: str | None = None
    """The pip extra of cosmos-curate that installs `needs`."""

    def missing_modules(self) -> tuple[str, ...]:
        """The modules of `needs` this interpreter cannot import, in declared order."""
        return tuple(name for name in self.needs if importlib.util.find_spec(name) is None)

    def install_command(self) -> str | None:
        """One command that installs every missing module, or None when nothing is missing."""
        if not self.missing_modules():
            return None
        if self.extra is not None:
            return f"pip install 'cosmos-curate[{self.extra}]'"
        return "pip install " + " ".join(self.missing_modules())


_VIDEO_NEEDS = ("av", "PIL", "pyarrow", "faiss", "webdataset")

BUILTIN_PIPELINES: tuple[PipelineInfo, ...] = (
    PipelineInfo(
        "hello-world",
        "lower-case, print, GPT-2, word count",
        "cosmos_curate.pipelines.examples.hello_world_pipeline",
    ),
    PipelineInfo(
        "demo-task-chunking",
        "split sentences into one task per word",
        "cosmos_curate.pipelines.examples.demo_task_chunking_pipeline",
    ),
    PipelineInfo(
        "video-split",
        "split, transcode, filter, embed, caption and write clips",
        "cosmos_curate.pipelines.video.split.pipeline",
        needs=_VIDEO_NEEDS,
        extra="video",
    ),
    PipelineInfo(
        "video-dedup",
        "semantic dedup (SemDeDup) of video-split clips",
        "cosmos_curate.pipelines.video.dedup.pipeline",
        needs=_VIDEO_NEEDS,
        extra="video",
    ),
    PipelineInfo(
        "video-shard",
        "pack video-split clips into webdataset tars",
        "cosmos_curate.pipelines.video.shard.pipeline",
        needs=_VIDEO_NEEDS,
        extra="video",
    ),
    PipelineInfo(
        "image-annotate",
        "decode, filter, score, embed and caption images",
        "cosmos_curate.pipelines.image.pipeline",
        # It reuses the video flow's CLIP, aesthetic and caption stages (PyAV among them).
        needs=_VIDEO_NEEDS,
        extra="video",
    ),
    PipelineInfo(
        "image-dedup",
        "exact and semantic (SemDeDup) dedup of image-annotate images",
        "cosmos_curate.pipelines.image.dedup",
        needs=_VIDEO_NEEDS,
        extra="video",
    ),
    PipelineInfo(
        "image-shard",
        "pack image-annotate images into webdataset tars",
        "cosmos_curate.pipelines.image.shard",
        needs=_VIDEO_NEEDS,
        extra="video",
    ),
)


def builtin_info(name: str) -> PipelineInfo | None:
    """The shipped pipeline called `name`, if there is one."""
    return next((info for info in BUILTIN_PIPELINES if info.name == name), None)
