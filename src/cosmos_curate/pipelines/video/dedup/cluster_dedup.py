"""Dedup of one cluster: read its shards, order them, find near-duplicates, write the tables.

A cluster with more rows than `max_rows_in_memory` is not loaded whole: its embeddings are
laid out in cluster order in a local scratch file (`np.memmap`) and compared block by block,
so the worker holds two blocks of rows at a time. The result is the same, only slower.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import attrs
import numpy as np
import numpy.typing as npt

from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.video.dedup import semdedup, storage, tables

Floats = npt.NDArray[np.float32]
Pair = tuple[str, str, float]


@attrs.frozen
class ClusterResult:
    """Counts and example pairs of one cluster (per eps, keyed by `semdedup.eps_tag`)."""

    cluster_id: int
    total: int
    removed: dict[str, int]
    borderline: dict[str, list[Pair]]
    most_similar: dict[str, list[Pair]]
    out_of_core: bool


def pruning_table_path(output_path: str, cluster_id: int) -> str:
    """Every item of a cluster: id, duplicate_of, similarity, distance to the centroid."""
    return storage.join(
        output_path, "extraction", "semdedup_pruning_tables", f"cluster_{cluster_id}.parquet"
    )


def pruned_dir(output_path: str, eps: float) -> str:
    """The removed items at one eps (one parquet per cluster: id, duplicate_of, similarity)."""
    return storage.join(output_path, "extraction", f"pruned_eps_{semdedup.eps_tag(eps)}")


def _shards(folder: str, outputs: StorageOptions) -> list[str]:
    return [
        storage.join(folder, rel)
        for rel, _ in storage.list_files(folder, outputs)
        if rel.endswith(".parquet")
    ]


def _scratch(rows: int, dim: int, in_memory: bool) -> tuple[Floats, Path | None]:
    if in_memory:
        return np.empty((rows, dim), dtype=np.float32), None
    from cosmos_curate.core.utils import settings

    folder = settings.runs_root() / "dedup_scratch"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.f32"
    matrix: Floats = np.memmap(path, dtype=np.float32, mode="w+", shape=(rows, dim))
    return matrix, path


def _load_ordered(
    shards: list[str], max_rows_in_memory: int, outputs: StorageOptions
) -> tuple[npt.NDArray[np.str_], Floats, Floats, Path | None]:
    """`(ids, distances, embeddings)` in cluster order; ids repeated by a retried chunk once."""
    id_parts, dist_parts = [], []
    for path in shards:
        table = tables.read_parquet_bytes(
            storage.read_bytes(path, outputs), ["id", "cosine_dist_to_cent"]
        )
        id_parts.append(np.asarray(table.column("id").to_pylist(), dtype=str))
        dist_parts.append(table.column("cosine_dist_to_cent").to_numpy().astype(np.float32))
    ids, dists = np.concatenate(id_parts), np.concatenate(dist_parts)
    _, first = np.unique(ids, return_index=True)
    keep = np.zeros(len(ids), dtype=bool)
    keep[first] = True
    kept_index = np.flatnonzero(keep)
    order = semdedup.cluster_order(ids[kept_index].tolist(), dists[kept_index])
    position = np.full(len(ids), -1, dtype=np.int64)
    position[kept_index[order]] = np.arange(len(order))
    matrix: Floats | None = None
    scratch: Path | None = None
    offset = 0
    for path, part in zip(shards, id_parts, strict=True):
        emb = tables.vectors(
            tables.read_parquet_bytes(storage.read_bytes(path, outputs), ["embedding"])
        )
        if matrix is None:
            matrix, scratch = _scratch(len(order), emb.shape[1], len(order) <= max_rows_in_memory)
        pos = position[offset : offset + len(part)]
        matrix[pos[pos >= 0]] = emb[pos >= 0]
        offset += len(part)
    assert matrix is not None
    return ids[kept_index[order]], dists[kept_index[order]], matrix, scratch


def _examples(
    ids: npt.NDArray[np.str_],
    dups: npt.NDArray[np.str_],
    sims: Floats,
    removed: npt.NDArray[np.bool_],
    n: int,
) -> tuple[list[Pair], list[Pair]]:
    rows = np.flatnonzero(removed)
    by_sim = rows[np.argsort(sims[rows], kind="stable")]
    pairs = [(str(ids[i]), str(dups[i]), float(sims[i])) for i in by_sim]
    return pairs[:n], pairs[::-1][:n]


def dedup_cluster(
    output_path: str,
    cluster_id: int,
    folder: str,
    eps: list[float],
    *,
    max_rows_in_memory: int,
    n_examples: int,
    outputs: StorageOptions,
) -> ClusterResult:
    """Dedup the cluster whose shards are under `folder`; writes its pruning tables.

    `outputs`: the storage options of the results (the shards are under them too).
    """
    shards = _shards(folder, outputs)
    if not shards:
        return ClusterResult(cluster_id, 0, {}, {}, {}, out_of_core=False)
    ids, dists, matrix, scratch = _load_ordered(shards, max_rows_in_memory, outputs)
    return _dedup_ordered(
        output_path, cluster_id, (ids, dists, matrix, scratch), eps,
        n_examples=n_examples, outputs=outputs,
    )  # fmt: skip


def dedup_rows(
    output_path: str,
    cluster_id: int,
    table: tuple[npt.NDArray[np.str_], Floats, Floats],
    rows: npt.NDArray[np.intp],
    eps: list[float],
    *,
    max_rows_in_memory: int,
    n_examples: int,
    outputs: StorageOptions,
) -> ClusterResult:
    """Dedup the cluster of `rows` (unique, any order) of `table`: `(ids, distances, embeddings)`.

    Writes the same tables as `dedup_cluster` would from the cluster's shards; the cluster's
    embeddings are copied once, in cluster order.
    """
    ids, dists, embeddings = table
    rows = rows[semdedup.cluster_order(ids[rows], dists[rows])]
    matrix, scratch = _scratch(len(rows), embeddings.shape[1], len(rows) <= max_rows_in_memory)
    matrix[:] = embeddings[rows]
    return _dedup_ordered(
        output_path, cluster_id, (ids[rows], dists[rows], matrix, scratch), eps,
        n_examples=n_examples, outputs=outputs,
    )  # fmt: skip


def _dedup_ordered(
    output_path: str,
    cluster_id: int,
    loaded: tuple[npt.NDArray[np.str_], Floats, Floats, Path | None],
    eps: list[float],
    *,
    n_examples: int,
    outputs: StorageOptions,
) -> ClusterResult:
    """Compare rows already in cluster order, write the cluster's tables; the scratch goes."""
    ids, dists, matrix, scratch = loaded
    try:
        sims, arg = semdedup.max_earlier_similarity(matrix)
    finally:
        del matrix
        if scratch is not None:
            scratch.unlink(missing_ok=True)
    dups = ids[arg]
    storage.write_staged(
        pruning_table_path(output_path, cluster_id),
        tables.to_parquet_bytes(
            {"id": ids.tolist(), "duplicate_of": dups.tolist(), "similarity": sims,
             "cosine_dist_to_cent": dists}
        ),
        outputs,
    )  # fmt: skip
    removed, borderline, top = {}, {}, {}
    for value in eps:
        tag = semdedup.eps_tag(value)
        mask = semdedup.removed_mask(sims, value)
        rows = {
            "id": ids[mask].tolist(),
            "duplicate_of": dups[mask].tolist(),
            "similarity": sims[mask],
        }
        path = storage.join(pruned_dir(output_path, value), f"cluster_{cluster_id}.parquet")
        storage.write_staged(path, tables.to_parquet_bytes(rows), outputs)
        removed[tag] = int(mask.sum())
        borderline[tag], top[tag] = _examples(ids, dups, sims, mask, n_examples)
    return ClusterResult(
        cluster_id, len(ids), removed, borderline, top, out_of_core=scratch is not None
    )
