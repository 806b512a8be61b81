"""The dataset's indexes: `wdinfo.json` per bucket, `wdinfo_list.csv` and `index.json`.

`wdinfo.json` (upstream's fields): `data_keys`, `chunk_size` (tars per part), `data_list`
(tar paths relative to the bucket), `root` (the bucket), `total_key_count` (samples). Only
tars that exist are listed; `index.json` says whether every planned tar was written and
how many kept clips no tar holds (`clips_not_written`, by reason; the list is `not_written.jsonl`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.video.dedup import storage
from cosmos_curate.pipelines.video.shard import left_out
from cosmos_curate.pipelines.video.shard.plan import ShardPlan, TarPlan

if TYPE_CHECKING:
    from cosmos_curate.pipelines.video.shard.stages import TarTask

DATA_KEYS = ["mp4", "json", "npy", "txt"]


class IndexOptions(Protocol):
    """The options the indexes record (video-shard's and image-shard's have them)."""

    output_path: str
    max_tars_per_part: int
    dedup_path: str | None
    eps: float

    @property
    def output_storage(self) -> StorageOptions:
        """How the output is reached."""

    def model_dump(self, *, mode: str) -> dict[str, Any]:
        """The options as JSON."""


def _write_json(path: str, data: Any, outputs: StorageOptions) -> None:
    storage.write_bytes(path, json.dumps(data, indent=2, sort_keys=True).encode(), outputs)


def write_indexes(
    options: IndexOptions,
    plan: ShardPlan,
    *,
    noun: str = "clips",
    data_keys: Sequence[str] = DATA_KEYS,
    clips_found: int,
    removed_by_dedup: int,
    written: list[TarTask],
    not_written: list[left_out.LeftOut],
    run_info: dict[str, Any],
) -> dict[str, Any]:
    """Write every index file; returns the `index.json` content (counts named `<noun>_...`)."""
    root, outputs = options.output_path, options.output_storage
    existing = {rel for rel, _ in storage.list_files(root, outputs)}
    buckets: dict[str, list[TarPlan]] = {}
    for tar in plan.tars:
        buckets.setdefault(tar.bucket, []).append(tar)
    entries: list[dict[str, Any]] = []
    wdinfos: list[str] = []
    missing: list[str] = []
    for bucket, tars in sorted(buckets.items()):
        done = [t for t in tars if t.path in existing]
        missing += [t.path for t in tars if t.path not in existing]
        wdinfo = {
            "data_keys": list(data_keys),
            "chunk_size": options.max_tars_per_part,
            "data_list": [t.relative_path for t in done],
            "root": storage.join(root, bucket),
            "total_key_count": sum(len(t.clip_ids) for t in done),
        }
        path = storage.join(root, bucket, "wdinfo.json")
        _write_json(path, wdinfo, outputs)
        wdinfos.append(path)
        samples = sum(len(t.clip_ids) for t in done)
        entries.append(
            {"bucket": bucket, "wdinfo": f"{bucket}/wdinfo.json", "samples": samples,
             "tars": len(done), "tars_planned": len(tars)}
        )  # fmt: skip
    storage.write_bytes(
        storage.join(root, "wdinfo_list.csv"),
        "".join(f"{p}\n" for p in wdinfos).encode(),
        outputs,
    )
    data = {
        "complete": not missing,
        "missing_tars": missing,
        "buckets": entries,
        f"{noun}_found": clips_found,
        f"{noun}_removed_by_dedup": removed_by_dedup,
        f"{noun}_unbucketed": plan.unbucketed,
        f"{noun}_dropped_small_shards": plan.dropped_small,
        f"{noun}_not_written": len(not_written),
        f"{noun}_not_written_by_reason": left_out.counts(not_written),
        "not_written_list": storage.join(root, left_out.FILE_NAME),
        "samples": sum(int(e["samples"]) for e in entries),
        "tars_written_this_run": sum(1 for t in written if not t.skipped_existing),
        "tars_already_there": sum(len(v) for v in buckets.values())
        - len(missing)
        - sum(1 for t in written if not t.skipped_existing),
        "bytes_written_this_run": sum(t.bytes_written for t in written),
        "dedup": {"path": options.dedup_path, "eps": options.eps} if options.dedup_path else None,
        "options": options.model_dump(mode="json"),
        **run_info,
    }
    _write_json(storage.join(root, "index.json"), data, outputs)
    return data
