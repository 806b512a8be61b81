"""Which output PATH is, and what the viewer reads for it.

A video-split or image-annotate output is indexed itself. A video-dedup, image-dedup or
video-shard output is shown with the output it came from: `--split`, else the `input_path`
its run recorded (in `summary.json` or `index.json`); the grid, clip pages and media are
that output's, and the dedup or shard view is added beside them. Any of them may be a
local folder or a storage URL (`s3://`, `gs://`, `az://`), reached with one `StorageOptions`.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.view.dedup import DedupIndex, is_dedup_output, load_dedup, split_of
from cosmos_curate.view.errors import ViewPathError
from cosmos_curate.view.index import OutputIndex, build_index
from cosmos_curate.view.shards import ShardIndex, is_shard_output, load_shards
from cosmos_curate.view.source import Source, open_source


@attrs.frozen
class Opened:
    """The split (or image) index, and the dedup or shard output shown beside it."""

    index: OutputIndex
    dedup: DedupIndex | None = None
    shards: ShardIndex | None = None


def _split(named: str | None, given: str | None, what: str, source: Source) -> str:
    if given is not None:
        return given
    if named is None:
        msg = (
            f"{source} is a {what} output whose run recorded no input path: give the "
            "output it came from with --split"
        )
        raise ViewPathError(msg)
    return named


def open_output(
    path: str | Path, split: str | Path | None = None, options: StorageOptions | None = None
) -> Opened:
    """Index the output at `path` (a local folder or a storage URL, reached with `options`).

    `split` overrides the split path a dedup or shard run recorded.
    """
    source = open_source(str(path), options)
    given = None if split is None else str(split)
    if is_dedup_output(source):
        dedup = load_dedup(source)
        named = _split(split_of(dedup.summary), given, "dedup", source)
        return Opened(build_index(open_source(named, options)), dedup=dedup)
    if is_shard_output(source):
        shards = load_shards(source)
        named = _split(split_of(shards.index), given, "video-shard", source)
        return Opened(build_index(open_source(named, options)), shards=shards)
    if split is not None:
        msg = f"--split is for a dedup or video-shard output, and {path} is neither"
        raise ViewPathError(msg)
    return Opened(build_index(source))
