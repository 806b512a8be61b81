"""The dedup view's data: a `video-dedup` output's pruning tables, read once.

Every embedded clip is a row of `extraction/semdedup_pruning_tables/cluster_<c>.parquet`
with the clip it is most similar to among those before it in its cluster (`duplicate_of`)
and that cosine similarity. At an eps the run computed, a clip is removed when
`similarity > 1 - eps` (`semdedup.removed_mask`, the rule the run and `video-shard` apply),
so one table answers every eps without reading the per-eps copies.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from cosmos_curate.pipelines.video.dedup import semdedup, tables
from cosmos_curate.view.errors import ViewPathError

PRUNING = Path("extraction", "semdedup_pruning_tables")
_CLUSTER = re.compile(r"cluster_(\d+)\.parquet")


def is_dedup_output(root: Path) -> bool:
    """Whether `root` looks like a `video-dedup` output (its summary or pruning tables)."""
    return (root / PRUNING).is_dir() or any((root / "extraction").glob("dedup_summary_*.csv"))


@attrs.frozen
class Pair:
    """A clip removed at some eps, the clip it duplicates, their similarity and cluster."""

    id: str
    duplicate_of: str
    similarity: float
    cluster: int


@attrs.frozen
class EpsView:
    """What one eps keeps and removes: counts over all clusters, removed pairs, per cluster."""

    eps: float
    kept: int
    removed: int
    total: int
    pairs: list[Pair]  # most similar first
    removed_by_cluster: dict[int, int]


@attrs.frozen
class DedupIndex:
    """The pruning tables of one dedup output, as flat arrays (one entry per clip)."""

    root: Path
    summary: dict[str, Any]
    eps_values: tuple[float, ...]
    ids: tuple[str, ...]
    duplicate_of: tuple[str, ...]
    similarity: npt.NDArray[np.float32]
    cluster: npt.NDArray[np.int64]

    def cluster_sizes(self) -> dict[int, int]:
        """Clips per cluster, by cluster id."""
        found, counts = np.unique(self.cluster, return_counts=True)
        return {int(c): int(n) for c, n in zip(found, counts, strict=True)}

    def at(self, eps: float, cluster: int | None = None) -> EpsView:
        """What `eps` removes (pairs of one cluster only when `cluster` is given)."""
        mask = semdedup.removed_mask(self.similarity, eps)
        rows = np.flatnonzero(mask if cluster is None else mask & (self.cluster == cluster))
        rows = rows[np.argsort(-self.similarity[rows], kind="stable")]
        pairs = [
            Pair(self.ids[i], self.duplicate_of[i], float(self.similarity[i]), int(self.cluster[i]))
            for i in rows
        ]
        found, counts = np.unique(self.cluster[mask], return_counts=True)
        removed = int(mask.sum())
        return EpsView(
            eps, len(self.ids) - removed, removed, len(self.ids), pairs,
            {int(c): int(n) for c, n in zip(found, counts, strict=True)},
        )  # fmt: skip


def _eps_values(root: Path, summary: dict[str, Any]) -> tuple[float, ...]:
    """The eps values the run computed: its summary's, else its per-eps CSV files' names."""
    tags = list(summary.get("eps") or {}) if isinstance(summary.get("eps"), dict) else []
    if not tags:
        tags = [p.stem.removeprefix("dedup_summary_") for p in (root / "extraction").glob("*.csv")]
    values = set()
    for tag in tags:
        try:
            values.add(float(tag))
        except ValueError:
            continue
    return tuple(sorted(values))


def load_dedup(root: Path) -> DedupIndex:
    """Read the dedup output at `root` (a local folder); ViewPathError when it has no tables."""
    try:
        summary = json.loads((root / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = {}
    summary = summary if isinstance(summary, dict) else {}
    ids: list[str] = []
    dups: list[str] = []
    sims: list[npt.NDArray[np.float32]] = []
    clusters: list[npt.NDArray[np.int64]] = []
    files = sorted((root / PRUNING).glob("cluster_*.parquet")) if (root / PRUNING).is_dir() else []
    for path in files:
        match = _CLUSTER.fullmatch(path.name)
        if match is None:
            continue
        table = tables.read_parquet_bytes(path.read_bytes(), ["id", "duplicate_of", "similarity"])
        ids += table.column("id").to_pylist()
        dups += table.column("duplicate_of").to_pylist()
        sims.append(table.column("similarity").to_numpy().astype(np.float32))
        clusters.append(np.full(table.num_rows, int(match.group(1)), dtype=np.int64))
    eps_values = _eps_values(root, summary)
    if not files or not eps_values:
        msg = (
            f"{root} holds no pruning tables (extraction/semdedup_pruning_tables/) or eps "
            "summary: give the --output-path of a finished video-dedup run"
        )
        raise ViewPathError(msg)
    return DedupIndex(
        root, summary, eps_values, tuple(ids), tuple(dups),
        np.concatenate(sims), np.concatenate(clusters),
    )  # fmt: skip


def split_of(summary: dict[str, Any]) -> str | None:
    """The split output a dedup or shard run read (`options.input_path`), as it was given."""
    options = summary.get("options")
    path = options.get("input_path") if isinstance(options, dict) else None
    return path if isinstance(path, str) and path else None
