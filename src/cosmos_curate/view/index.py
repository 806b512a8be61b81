"""The viewer's in-memory index of one output: a compact row per clip or image.

Built once at start-up from the metadata JSON files (`metas/` for kept items, and
`filtered_clips/` or `filtered_images/` for dropped ones). A row keeps only what the grid,
search, sort and filters need; a clip's page reads its full JSON from disk when asked.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import attrs

from cosmos_curate.view.errors import ViewPathError

# Score names in a record's `scores`, in the order rows keep them.
SCORES = ("aesthetic", "motion", "motion_global_mean", "motion_per_patch_min_256")
VIDEO, IMAGE = "video-split", "image-annotate"


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

    root: Path
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
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if is_number else math.nan


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _caption_text(record: dict[str, Any]) -> str:
    parts = [record.get("caption")]
    for window in record.get("windows") or []:
        if isinstance(window, dict):
            parts.append(window.get("enhanced_caption"))
    return " ".join(p for p in parts if isinstance(p, str) and p)


def _first_preview(record: dict[str, Any]) -> str | None:
    for window in record.get("windows") or []:
        if isinstance(window, dict) and isinstance(window.get("preview_path"), str):
            return str(window["preview_path"])
    return None


def row_of(record: dict[str, Any], meta_key: str, kept: bool, kind: str) -> Row:
    """The row of one metadata record found at `meta_key`."""
    scores = _mapping(record.get("scores"))
    item_id = str(record.get("clip_id") or record.get("image_id") or Path(meta_key).stem)
    media = record.get("clip_path") if kind == VIDEO else record.get("image_path")
    span = _mapping(record.get("span"))
    reason = record.get("filter_reason")
    video = record.get("video_id") or record.get("source") or ""
    filtered_by = record.get("filtered_by")
    return Row(
        id=item_id,
        kept=kept,
        meta=meta_key,
        media=media if isinstance(media, str) else None,
        preview=_first_preview(record),
        video=sys.intern(str(video)),
        start_s=_score(span.get("start_s")) if "start_s" in span else 0.0,
        scores=tuple(_score(scores.get(name)) for name in SCORES),
        caption=_caption_text(record),
        filtered_by=sys.intern(str(filtered_by)) if filtered_by else None,
        reason=reason if isinstance(reason, str) else None,
    )


def _json_files(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if e.name.endswith(".json") and e.is_file())
    except FileNotFoundError:
        return []


def detect_kind(root: Path) -> str:
    """Which pipeline wrote `root`: video-split or image-annotate."""
    if (root / "clips").is_dir() or (root / "filtered_clips").is_dir():
        return VIDEO
    if (root / "images").is_dir() or (root / "filtered_images").is_dir():
        return IMAGE
    msg = (
        f"{root} holds no clips/, filtered_clips/, images/ or filtered_images/: "
        "give the --output-path of a video-split or image-annotate run"
    )
    raise ViewPathError(msg)


def build_index(root: Path) -> OutputIndex:
    """Read every metadata record under `root` (a local output folder) into an index."""
    if not root.is_dir():
        msg = (
            f"{root} is not a folder: give the output folder of a video-split or image-annotate run"
        )
        raise ViewPathError(msg)
    root = root.resolve()
    kind = detect_kind(root)
    dropped = "filtered_clips" if kind == VIDEO else "filtered_images"
    rows: list[Row] = []
    for folder, kept in (("metas", True), (dropped, False)):
        for name in _json_files(root / folder):
            try:
                record = json.loads((root / folder / name).read_bytes())
            except (OSError, ValueError):
                continue  # torn or unreadable: the pipeline would redo it; nothing to show
            if isinstance(record, dict):
                rows.append(row_of(record, f"{folder}/{name}", kept, kind))
    reasons = Counter(r.filtered_by or "unknown" for r in rows if not r.kept)
    by_id = {r.id: i for i, r in enumerate(rows)}
    return OutputIndex(root, kind, tuple(rows), by_id, dict(sorted(reasons.items())))
