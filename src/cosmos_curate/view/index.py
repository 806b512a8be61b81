"""The viewer's in-memory index of one output: a compact row per clip or image.

Built once at start-up from the metadata JSON files (`metas/` for kept items, and
`filtered_clips/` or `filtered_images/` for dropped ones), local or on a store (fetched
concurrently, a batch at a time). A row keeps only what the grid, search, sort and filters
need; a clip's page reads its full JSON when asked.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from cosmos_curate.view.errors import ViewPathError
from cosmos_curate.view.source import Source, open_source

# Score names in a record's `scores`, in the order rows keep them.
SCORES = ("aesthetic", "motion", "motion_global_mean", "motion_per_patch_min_256")
VIDEO, IMAGE = "video-split", "image-annotate"
READ_SIZE = 1 << 16
_decode = json.JSONDecoder().decode  # on str: skips json.loads' encoding sniffing


@attrs.frozen(slots=True)
class Row:
    """One clip or image: its keys (relative to the output root) and what queries read.

    `scores` follows `SCORES` (NaN where the run did not compute one); `caption` is the
    text search looks in (every window's caption, enhanced ones too).
    """

    id: str
    kept: bool
    meta: str
    media: str | None
    preview: str | None
    video: str
    start_s: float
    scores: tuple[float, ...]
    caption: str
    filtered_by: str | None
    reason: str | None


@attrs.frozen
class OutputIndex:
    """Every row of an output, kept rows first, each part sorted by id."""

    source: Source
    kind: str
    rows: tuple[Row, ...]
    by_id: dict[str, int]
    reasons: dict[str, int]  # dropped rows per filter name

    def row(self, item_id: str) -> Row | None:
        """The row of `item_id`, or None."""
        at = self.by_id.get(item_id)
        return None if at is None else self.rows[at]

    def siblings(self, row: Row) -> list[Row]:
        """The rows cut from the same source video, in the order of their start."""
        same = [r for r in self.rows if r.video == row.video]
        return sorted(same, key=lambda r: (r.start_s, r.id))


def _score(value: Any) -> float:
    return float(value) if type(value) is float or type(value) is int else math.nan


def _caption_text(record: dict[str, Any], windows: list[Any]) -> str:
    caption = record.get("caption")
    parts = [caption] if type(caption) is str and caption else []
    for window in windows:
        if type(window) is dict:
            enhanced = window.get("enhanced_caption")
            if type(enhanced) is str and enhanced:
                parts.append(enhanced)
    return " ".join(parts)


def _first_preview(windows: list[Any]) -> str | None:
    for window in windows:
        if type(window) is dict:
            preview = window.get("preview_path")
            if type(preview) is str:
                return preview
    return None


def row_of(record: dict[str, Any], meta_key: str, kept: bool, kind: str) -> Row:
    """The row of one metadata record found at `meta_key`."""
    get = record.get
    scores = get("scores")
    scores = scores if type(scores) is dict else {}
    span = get("span")
    start = span.get("start_s") if type(span) is dict else None
    windows = get("windows")
    windows = windows if type(windows) is list else []
    media = get("clip_path") if kind == VIDEO else get("image_path")
    reason = get("filter_reason")
    filtered_by = get("filtered_by")
    item_id = get("clip_id") or get("image_id") or meta_key.rsplit("/", 1)[-1].removesuffix(".json")
    return Row(
        id=str(item_id),
        kept=kept,
        meta=meta_key,
        media=media if type(media) is str else None,
        preview=_first_preview(windows),
        video=sys.intern(str(get("video_id") or get("source") or "")),
        start_s=0.0 if start is None else _score(start),
        scores=tuple([_score(scores.get(name)) for name in SCORES]),
        caption=_caption_text(record, windows),
        filtered_by=sys.intern(str(filtered_by)) if filtered_by else None,
        reason=reason if type(reason) is str else None,
    )


def _json_files(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if e.name.endswith(".json") and e.is_file())
    except FileNotFoundError:
        return []


def _read_at(folder_fd: int, name: str) -> bytes:
    """A small file's bytes, opened relative to an open folder (no path walk per file)."""
    fd = os.open(name, os.O_RDONLY, dir_fd=folder_fd)
    try:
        chunks = [os.read(fd, READ_SIZE)]
        while len(chunks[-1]) == READ_SIZE:  # a short read of a regular file is its end
            chunks.append(os.read(fd, READ_SIZE))
    finally:
        os.close(fd)
    return b"".join(chunks) if len(chunks) > 1 else chunks[0]


def _records(root: Path, folder: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """`(name, record)` of each readable JSON object in `root/folder`, in name order."""
    names = _json_files(root / folder)
    if not names:
        return
    folder_fd = os.open(root / folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in names:
            try:
                record = _decode(_read_at(folder_fd, name).decode())
            except (OSError, ValueError):
                continue  # torn or unreadable: the pipeline would redo it; nothing to show
            if type(record) is dict:
                yield name, record
    finally:
        os.close(folder_fd)


def _remote_records(source: Source, folder: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """`(name, record)` of each readable JSON object directly in the store's `folder`."""
    prefix = folder + "/"
    keys = [k for k in source.keys(folder) if k.endswith(".json") and "/" not in k[len(prefix) :]]
    for key, data in source.read_many(keys):
        try:
            record = _decode(data.decode())
        except ValueError:
            continue
        if type(record) is dict:
            yield key[len(prefix) :], record


def detect_kind(source: Source) -> str:
    """Which pipeline wrote the output: video-split or image-annotate."""
    if source.has_folder("clips") or source.has_folder("filtered_clips"):
        return VIDEO
    if source.has_folder("images") or source.has_folder("filtered_images"):
        return IMAGE
    msg = (
        f"{source} holds no clips/, filtered_clips/, images/ or filtered_images/: "
        "give the --output-path of a video-split or image-annotate run"
    )
    raise ViewPathError(msg)


def build_index(source: Source | Path) -> OutputIndex:
    """Read every metadata record of an output (a `Source`, or a local folder) into an index."""
    if not isinstance(source, Source):
        source = open_source(str(source))
    kind = detect_kind(source)
    dropped = "filtered_clips" if kind == VIDEO else "filtered_images"
    rows: list[Row] = []
    for folder, kept in (("metas", True), (dropped, False)):
        prefix = folder + "/"
        found = (
            _records(source.root, folder) if source.is_local else _remote_records(source, folder)
        )
        rows += [row_of(record, prefix + name, kept, kind) for name, record in found]
    reasons = Counter(r.filtered_by or "unknown" for r in rows if not r.kept)
    by_id = {r.id: i for i, r in enumerate(rows)}
    return OutputIndex(source, kind, tuple(rows), by_id, dict(sorted(reasons.items())))
