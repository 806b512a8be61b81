"""k-means on unit-norm embeddings with faiss (CPU), and nearest-centroid assignment.

As upstream: labels are the nearest centroid in L2 (what k-means optimises), and the
distance kept per item is the cosine distance to its centroid, normalised.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float32]


def train_kmeans(sample: Floats, n_clusters: int, max_iter: int, seed: int) -> Floats:
    """Centroids `(k, d)` trained on `sample` (unit rows); k is capped at the sample size."""
    import faiss

    if sample.ndim != 2 or sample.shape[0] == 0:
        msg = "k-means needs at least one embedding"
        raise ValueError(msg)
    k = min(n_clusters, sample.shape[0])
    kmeans = faiss.Kmeans(
        sample.shape[1],
        k,
        niter=max_iter,
        seed=seed,
        verbose=False,
        # faiss warns below 39 points per centroid and caps samples at 256 per centroid;
        # we train on the sample we were given, whole.
        max_points_per_centroid=max(256, -(-sample.shape[0] // k)),
        min_points_per_centroid=1,
    )
    kmeans.train(np.ascontiguousarray(sample, dtype=np.float32))
    centroids: Floats = np.asarray(kmeans.centroids, dtype=np.float32)
    return centroids


def assign(embeddings: Floats, centroids: Floats) -> tuple[npt.NDArray[np.int32], Floats]:
    """`(label, cosine distance to that centroid)` for each unit-norm row."""
    import faiss

    index = faiss.IndexFlatL2(centroids.shape[1])
    index.add(np.ascontiguousarray(centroids, dtype=np.float32))
    _, nearest = index.search(np.ascontiguousarray(embeddings, dtype=np.float32), 1)
    labels = nearest[:, 0].astype(np.int32)
    unit = centroids / np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    cosine = np.einsum("ij,ij->i", embeddings, unit[labels])
    return labels, (1.0 - np.clip(cosine, -1.0, 1.0)).astype(np.float32)
