"""The SemDeDup rule inside one cluster (SemDeDup, arXiv 2303.09540; upstream's `dedup`).

Items are ordered by cosine distance to the centroid, farthest first (ties by id), so the
kept item of a near-duplicate group is the one farthest from the centroid ("hard" items).
For each item j, `similarity` is its highest cosine similarity to any item before it in that
order and `duplicate_of` that item; the first item gets 0.0 and itself. An item is removed
at `eps` when `similarity > 1 - eps`. Earlier items count whether or not they are removed
themselves, as upstream computes it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float32]
TILE = 2048
"""Rows per block of the similarity computation: memory is about 2 * TILE * (TILE + d) floats."""


def cluster_order(
    ids: Sequence[str] | npt.NDArray[np.str_], distances: Floats
) -> npt.NDArray[np.intp]:
    """Indices that sort a cluster: distance to centroid descending, then id ascending."""
    keys = np.asarray(ids, dtype=str)
    return np.lexsort((keys, -np.asarray(distances, dtype=np.float64)))


def max_earlier_similarity(
    embeddings: Floats, tile: int = TILE
) -> tuple[Floats, npt.NDArray[np.int64]]:
    """For rows already in cluster order: `(max cosine to an earlier row, index of that row)`.

    `embeddings` may be a `np.memmap`: only two blocks of rows are in memory at a time.
    """
    m = embeddings.shape[0]
    best = np.full(m, -np.inf, dtype=np.float32)
    arg = np.zeros(m, dtype=np.int64)
    for j0 in range(0, m, tile):
        j1 = min(m, j0 + tile)
        block_j = np.asarray(embeddings[j0:j1], dtype=np.float32)
        col_best = np.full(j1 - j0, -np.inf, dtype=np.float32)
        col_arg = np.zeros(j1 - j0, dtype=np.int64)
        for i0 in range(0, j0, tile):
            i1 = min(j0, i0 + tile)
            sims = np.asarray(embeddings[i0:i1], dtype=np.float32) @ block_j.T
            _merge(sims, i0, col_best, col_arg)
        inner = block_j @ block_j.T
        # only rows before j inside the block (a boolean mask: no index arrays of n^2 / 2)
        np.putmask(inner, np.tri(j1 - j0, dtype=bool), -np.inf)
        _merge(inner, j0, col_best, col_arg)
        best[j0:j1], arg[j0:j1] = col_best, col_arg
    if m:
        best[0], arg[0] = 0.0, 0
    return np.clip(best, -1.0, 1.0), arg


def _merge(sims: Floats, offset: int, col_best: Floats, col_arg: npt.NDArray[np.int64]) -> None:
    """Fold a block of similarities (rows: earlier items) into the running column maxima."""
    local = np.argmax(sims, axis=0)
    values = sims[local, np.arange(sims.shape[1])]
    better = values > col_best  # strict: the earliest row wins a tie
    col_best[better] = values[better]
    col_arg[better] = local[better] + offset


def removed_mask(similarity: Floats, eps: float) -> npt.NDArray[np.bool_]:
    """Which items are removed at `eps`."""
    return np.asarray(similarity, dtype=np.float64) > 1.0 - eps


def eps_tag(eps: float) -> str:
    """`0.01` -> `"0.01"`: the eps as it appears in file names."""
    return f"{eps:.6g}"
