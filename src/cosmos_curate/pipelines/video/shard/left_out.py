"""Kept clips that no tar holds, each with the reason: `SHARDS/not_written.jsonl`.

A clip kept after dedup is either in a tar or listed here (one JSON object a line:
`clip_id`, `reason`, `detail`), never silently dropped. Reasons:
- `skipped_unbucketed`: fits no bucket and `--skip-unbucketed` was given;
- `dropped_small_shard`: in a bucket's last tar below `--min-clips-per-tar` (`--drop-small-shards`);
- `clip_path_refused`: its metadata names an mp4 outside the split output (a failure record too);
- `unreadable`: its video's metadata or embeddings could not be read (a failure record too);
- `tar_not_written`: the tar planned for it failed (a failure record too; a rerun retries it).
`image-shard` writes the same list (`image_id` instead of `clip_id`; `image_path_refused`
for an image file outside the input). The file is rewritten by every run, so it always
describes the output as it is. The clips the shard itself leaves out (the first three
reasons) also get one failure record each (`append_failure_records`), so the run exits 3
and the records' path is printed.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import attrs

from cosmos_curate.core.interfaces.results import FailureRecord
from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.video.dedup import storage

FILE_NAME = "not_written.jsonl"
SKIPPED_UNBUCKETED = "skipped_unbucketed"
DROPPED_SMALL_SHARD = "dropped_small_shard"
CLIP_PATH_REFUSED = "clip_path_refused"
IMAGE_PATH_REFUSED = "image_path_refused"
UNREADABLE = "unreadable"
TAR_NOT_WRITTEN = "tar_not_written"
PATH_REFUSED = (CLIP_PATH_REFUSED, IMAGE_PATH_REFUSED)
RECORDED_BY_SHARD = (SKIPPED_UNBUCKETED, DROPPED_SMALL_SHARD, *PATH_REFUSED)
"""Reasons no stage wrote a failure record for: the shard writes one per clip."""


@attrs.frozen
class LeftOut:
    """One kept clip that no tar holds, and why."""

    clip_id: str
    reason: str
    detail: str = ""


def counts(records: Iterable[LeftOut]) -> dict[str, int]:
    """How many clips were left out, by reason."""
    return dict(sorted(Counter(r.reason for r in records).items()))


def write_list(
    output_path: str, records: Iterable[LeftOut], outputs: StorageOptions, id_key: str = "clip_id"
) -> str:
    """Publish the list (sorted by id; empty when every kept item is in a tar); its path."""
    path = storage.join(output_path, FILE_NAME)
    lines = [
        json.dumps({id_key: r.clip_id, "reason": r.reason, "detail": r.detail}, sort_keys=True)
        + "\n"
        for r in sorted(records, key=lambda r: (r.clip_id, r.reason))
    ]
    storage.write_bytes(path, "".join(lines).encode(), outputs)
    return path


def append_failure_records(
    path: Path,
    records: Iterable[LeftOut],
    *,
    kind: str = "clip",
    stages: tuple[str, str] = ("ReadClipInfoStage", "video-shard plan"),
) -> None:
    """One failure record per item (`task_repr`: `<kind> <id>`), on disk before this returns.

    `stages`: the stage named by a refused path's record, and by the others'.
    """
    lines = [
        FailureRecord(
            stages[0] if r.reason in PATH_REFUSED else stages[1],
            f"{r.reason}: {r.detail}",
            "",
            1,
            f"{kind} {r.clip_id}",
        ).to_json()
        + "\n"
        for r in records
    ]
    if not lines:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write("".join(lines))
        out.flush()
        os.fsync(out.fileno())
