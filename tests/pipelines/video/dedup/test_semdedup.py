"""The SemDeDup rule inside a cluster: order, which item is kept, and how eps applies."""

from __future__ import annotations

import numpy as np
import pytest

from cosmos_curate.pipelines.video.dedup import semdedup


def _brute_force(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sims = embeddings @ embeddings.T
    best = np.zeros(len(embeddings), dtype=np.float32)
    arg = np.zeros(len(embeddings), dtype=np.int64)
    for j in range(1, len(embeddings)):
        arg[j] = int(np.argmax(sims[:j, j]))
        best[j] = sims[arg[j], j]
    return best, arg


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_order_is_farthest_from_centroid_first_then_id() -> None:
    """Items sort by distance to the centroid descending; equal distances by id."""
    order = semdedup.cluster_order(["b", "a", "c", "d"], np.array([0.1, 0.1, 0.5, 0.0]))
    assert order.tolist() == [2, 1, 0, 3]


@pytest.mark.parametrize("tile", [1, 3, 7, 64])
def test_tiled_max_similarity_matches_brute_force(tile: int) -> None:
    """Any block size gives each item its best earlier match, as the full matrix does."""
    rows = _unit(np.random.default_rng(1).normal(size=(40, 8)))
    best, arg = semdedup.max_earlier_similarity(rows, tile=tile)
    ref_best, ref_arg = _brute_force(rows)
    np.testing.assert_allclose(best, ref_best, atol=1e-6)
    assert arg.tolist() == ref_arg.tolist()
    assert best[0] == 0.0 and arg[0] == 0


def test_memmap_input_gives_the_same_answer(tmp_path: object) -> None:
    """The out-of-core path (a memory-mapped matrix) computes the same table."""
    rows = _unit(np.random.default_rng(2).normal(size=(30, 4)))
    mm = np.memmap(f"{tmp_path}/m.f32", dtype=np.float32, mode="w+", shape=rows.shape)
    mm[:] = rows
    got = semdedup.max_earlier_similarity(mm, tile=4)
    want = semdedup.max_earlier_similarity(rows, tile=4)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_the_earlier_item_is_kept_and_the_later_removed() -> None:
    """Of two near-identical items the one first in cluster order stays; the other points to it."""
    a = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    near_a = _unit(np.array([[1.0, 0.001, 0.0]]))[0]
    other = np.array([0.0, 1.0, 0.0], dtype=np.float32)
    best, arg = semdedup.max_earlier_similarity(np.stack([a, other, near_a]))
    removed = semdedup.removed_mask(best, eps=0.01)
    assert removed.tolist() == [False, False, True]
    assert arg[2] == 0


def test_eps_threshold_is_strict() -> None:
    """An item exactly at similarity 1 - eps stays; just above it goes."""
    sims = np.array([0.0, 0.9, 0.9000001, 0.5], dtype=np.float64).astype(np.float32)
    assert semdedup.removed_mask(sims, 0.1).tolist() == [False, False, True, False]
    assert semdedup.eps_tag(0.01) == "0.01"
