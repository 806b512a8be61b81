"""Which output PATH is, and what the viewer reads for it.

A video-split or image-annotate output is indexed itself. A video-dedup or video-shard
output is shown with the split it came from: `--split`, else the `input_path` its run
recorded (in `summary.json` or `index.json`); the grid, clip pages and media are that
split's, and the dedup or shard view is added beside them.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from cosmos_curate.view.dedup import DedupIndex, is_dedup_output, load_dedup, split_of
from cosmos_curate.view.errors import ViewPathError
from cosmos_curate.view.index import OutputIndex, build_index
from cosmos_curate.view.shards import ShardIndex, is_shard_output, load_shards


@attrs.frozen
class Opened:
    """The split (or image) index, and the dedup or shard output shown beside it."""

    index: OutputIndex
    dedup: DedupIndex | None = None
    shards: ShardIndex | None = None


def _split_root(named: str | None, given: Path | None, what: str, path: Path) -> Path:
    if given is not None:
        return given.expanduser()
    if named is None or "://" in named:
        where = "an object storage URL" if named else "no input path"
        msg = (
            f"{path} is a {what} output whose run recorded {where}: give the split output "
            "folder it came from with --split"
        )
        raise ViewPathError(msg)
    return Path(named).expanduser()


def open_output(path: Path, split: Path | None = None) -> Opened:
    """Index the output at `path` (a local folder); `split` overrides a recorded split path."""
    path = path.expanduser()
    if path.is_dir() and is_dedup_output(path):
        dedup = load_dedup(path.resolve())
        root = _split_root(split_of(dedup.summary), split, "video-dedup", path)
        return Opened(build_index(root), dedup=dedup)
    if path.is_dir() and is_shard_output(path):
        shards = load_shards(path.resolve())
        root = _split_root(split_of(shards.index), split, "video-shard", path)
        return Opened(build_index(root), shards=shards)
    if split is not None:
        msg = f"--split is for a video-dedup or video-shard output, and {path} is neither"
        raise ViewPathError(msg)
    return Opened(build_index(path))
