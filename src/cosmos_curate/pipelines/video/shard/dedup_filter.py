"""The clip ids a `video-dedup` output removes at a given eps.

Reads `extraction/pruned_eps_<eps>/` when the dedup run wrote that eps, else applies the
rule (`similarity > 1 - eps`) to the full tables in `extraction/semdedup_pruning_tables/`,
so any eps works without rerunning dedup. A path with neither is an error.
"""

from __future__ import annotations

from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.video.dedup import semdedup, storage, tables
from cosmos_curate.pipelines.video.dedup.cluster_dedup import pruned_dir
from cosmos_curate.pipelines.video.storage import StoragePathError


class DedupPathError(StoragePathError):
    """`--dedup-path` holds no pruning tables."""


def _parquets(folder: str, inputs: StorageOptions) -> list[str]:
    listed = storage.list_files(folder, inputs)
    return [storage.join(folder, r) for r, _ in listed if r.endswith(".parquet")]


def removed_ids(dedup_path: str, eps: float, inputs: StorageOptions) -> set[str]:
    """Ids of the clips the dedup output marks as duplicates at `eps` (read with `inputs`)."""
    files = _parquets(pruned_dir(dedup_path, eps), inputs)
    if files:
        found: set[str] = set()
        for path in files:
            found.update(
                tables.read_parquet_bytes(storage.read_bytes(path, inputs), ["id"])
                .column("id")
                .to_pylist()
            )
        return found
    full = _parquets(storage.join(dedup_path, "extraction", "semdedup_pruning_tables"), inputs)
    if not full:
        msg = (
            f"--dedup-path {dedup_path} holds no pruning tables (extraction/...): "
            "run `curate pipeline run video-dedup` first"
        )
        raise DedupPathError(msg)
    found = set()
    for path in full:
        table = tables.read_parquet_bytes(storage.read_bytes(path, inputs), ["id", "similarity"])
        mask = semdedup.removed_mask(table.column("similarity").to_numpy(), eps)
        ids = table.column("id").to_pylist()
        found.update(i for i, gone in zip(ids, mask, strict=True) if gone)
    return found
