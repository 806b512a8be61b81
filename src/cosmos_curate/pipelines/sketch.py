"""What a pipeline would run for some options, found without running anything.

A registered pipeline may declare `describe(options) -> PipelineSketch` next to its run
function (`register_pipeline(..., describe=...)`): the stages its run builds (one tuple per
runtime pipeline it runs; video-dedup runs three), the inputs it found and where its outputs
go. `curate pipeline run NAME --dry-run` plans on it (`pipelines.dry_run`). A describe
function reads (lists inputs, builds stage objects) and creates nothing; what stops the run
goes into `problems`, each its own line, so that every problem is listed at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import PurePosixPath
from typing import Any

import attrs

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageSpec
from cosmos_curate.core.storage import DataFolder, StorageOptions

FIRST_LISTED = 5
"""How many inputs a sketch names (the rest are counted)."""

StageList = tuple[CuratorStage[Any, Any] | CuratorStageSpec, ...]


@attrs.frozen
class InputSummary:
    """The inputs a run would read: where, how many, how many bytes, the first few."""

    where: str
    what: str
    count: int
    bytes: int | None
    """Total size (None when the inputs are not files, e.g. prompts)."""
    first: tuple[str, ...]


@attrs.frozen
class PipelineSketch:
    """Stages (one tuple per runtime pipeline run, in order), inputs and outputs of a run."""

    runs: tuple[StageList, ...]
    inputs: InputSummary | None = None
    outputs: str | None = None
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


DescribeFn = Callable[[Any], PipelineSketch]


def summarize(where: str, what: str, entries: Iterable[tuple[str, int | None]]) -> InputSummary:
    """Count `(name, size)` entries, sum their sizes and keep the first names."""
    count, total, first = 0, 0, []
    sized = True
    for name, size in entries:
        if count < FIRST_LISTED:
            first.append(name)
        count += 1
        if size is None:
            sized = False
        else:
            total += size
    return InputSummary(where, what, count, total if sized else None, tuple(first))


def list_files(
    where: str, storage: StorageOptions, extensions: frozenset[str], what: str
) -> InputSummary:
    """The files under `where` (a folder or URL) whose extension is one of `extensions`."""
    folder = DataFolder(where, storage)
    if folder.is_local and not folder.path().is_dir():
        msg = f"{where} is not a folder"
        raise CurateError(msg)
    entries = folder.list()
    return summarize(
        where,
        what,
        ((key, size) for key, size in entries if PurePosixPath(key).suffix.lower() in extensions),
    )


def sketch_inputs(
    read: Callable[[], InputSummary],
) -> tuple[InputSummary | None, tuple[str, ...]]:
    """`read()`'s summary, or None and its error as a problem (a missing folder, a bad URL)."""
    try:
        return read(), ()
    except (CurateError, OSError) as exc:
        return None, (f"inputs: {exc}",)


def built_stages(
    build: Callable[[], Sequence[CuratorStage[Any, Any] | CuratorStageSpec]],
) -> tuple[StageList, tuple[str, ...]]:
    """`build()`'s stages, or none and its error as a problem."""
    try:
        return tuple(build()), ()
    except (CurateError, OSError, ValueError) as exc:
        return (), (f"stages: {exc}",)


def describe_files(
    build: Callable[[], Sequence[CuratorStage[Any, Any] | CuratorStageSpec]],
    inputs: tuple[str, StorageOptions, frozenset[str], str],
    outputs: str,
    limit: int | None = None,
) -> PipelineSketch:
    """The sketch of a one-run pipeline over the files of a folder.

    Its stages, the files (`inputs`: where, storage, extensions, what they are) and the
    output folder.
    """
    stages, stage_problems = built_stages(build)
    found, input_problems = sketch_inputs(lambda: list_files(*inputs))
    notes: tuple[str, ...] = ()
    if found is not None and limit is not None and found.count > limit:
        notes = (f"--limit {limit}: the first {limit} of the {found.count} {found.what} run",)
    if found is not None and not found.count:
        notes = (f"no {found.what} under {found.where}: the run would process nothing",)
    return PipelineSketch((stages,), found, outputs, stage_problems + input_problems, notes)


__all__ = [
    "FIRST_LISTED",
    "DescribeFn",
    "InputSummary",
    "PipelineSketch",
    "StageList",
    "built_stages",
    "describe_files",
    "list_files",
    "sketch_inputs",
    "summarize",
]
