"""The clip ids a `video-dedup` output removes at a given eps.

Reads `extraction/pruned_eps_<eps>/` when the dedup run wrote that eps, else applies the
rule (`similarity > 1 - eps`) to the full tables in `extraction/semdedup_pruning_tables/`,
so any eps works without rerunning dedup. `image-dedup`'s exact duplicates
(`extraction/exact_duplicates.parquet`) are removed at every eps. A path with none of these
is an error.
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


EXACT_TABLE = "exact_duplicates.parquet"
"""Under `extraction/`: items whose bytes another kept item has (`id`, `duplicate_of`, ...)."""


def exact_table_path(dedup_path: str) -> str:
    """Where a dedup output lists its exact duplicates."""
    return storage.join(dedup_path, "extraction", EXACT_TABLE)


def _exact_ids(dedup_path: str, inputs: StorageOptions) -> set[str] | None:
    path = exact_table_path(dedup_path)
    if not storage.exists(path, inputs):
        return None
    table = tables.read_parquet_bytes(storage.read_bytes(path, inputs), ["id"])
    return set(table.column("id").to_pylist())


def removed_ids(
    dedup_path: str, eps: float, inputs: StorageOptions, producer: str = "video-dedup"
) -> set[str]:
    """Ids of the items the dedup output marks as duplicates at `eps` (read with `inputs`).

    `producer`: the dedup pipeline an error message tells the user to run.
    """
    exact = _exact_ids(dedup_path, inputs)
    return (exact or set()) | _semantic_ids(dedup_path, eps, inputs, producer, exact is not None)


def _semantic_ids(
    dedup_path: str, eps: float, inputs: StorageOptions, producer: str, optional: bool
) -> set[str]:
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
    if not full and optional:  # an exact-only dedup run
        return set()
    if not full:
        msg = (
            f"--dedup-path {dedup_path} holds no pruning tables (extraction/...): "
            f"run `curate pipeline run {producer}` first"
        )
        raise DedupPathError(msg)
    found = set()
    for path in full:
        table = tables.read_parquet_bytes(storage.read_bytes(path, inputs), ["id", "similarity"])
        mask = semdedup.removed_mask(table.column("similarity").to_numpy(), eps)
        ids = table.column("id").to_pylist()
        found.update(i for i, gone in zip(ids, mask, strict=True) if gone)
    return found
