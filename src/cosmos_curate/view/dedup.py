"""The dedup view's data: a `video-dedup` or `image-dedup` output's tables, read once.

Every embedded clip is a row of `extraction/semdedup_pruning_tables/cluster_<c>.parquet`
with the clip it is most similar to among those before it in its cluster (`duplicate_of`)
and that cosine similarity. At an eps the run computed, a clip is removed when
`similarity > 1 - eps` (`semdedup.removed_mask`, the rule the run and `video-shard` apply),
so one table answers every eps without reading the per-eps copies. An `image-dedup` run
also lists exact duplicates (same bytes) in `extraction/exact_duplicates.parquet`: removed
at every eps, before the semantic step (with `--exact-only`, the only table).
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from cosmos_curate.pipelines.video.dedup import semdedup, tables
from cosmos_curate.pipelines.video.shard.dedup_filter import EXACT_TABLE
from cosmos_curate.view.errors import ViewPathError
from cosmos_curate.view.source import Source

EXTRACTION = "extraction"
_CLUSTER = re.compile(r"extraction/semdedup_pruning_tables/cluster_(\d+)\.parquet")
_EPS_CSV = re.compile(r"extraction/dedup_summary_(.+)\.csv")
EXACT = f"{EXTRACTION}/{EXACT_TABLE}"


def _is_dedup_key(key: str) -> bool:
    return key == EXACT or bool(_CLUSTER.fullmatch(key) or _EPS_CSV.fullmatch(key))


def is_dedup_output(source: Source) -> bool:
    """Whether the output is a `video-dedup` or `image-dedup` output (its tables or summary)."""
    return source.has_folder(EXTRACTION) and any(map(_is_dedup_key, source.keys(EXTRACTION)))


@attrs.frozen
class ExactPair:
    """An item removed as an exact duplicate (same bytes) of the kept one, and its SHA-256."""

    id: str
    duplicate_of: str
    sha256: str


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

    source: Source
    summary: dict[str, Any]
    eps_values: tuple[float, ...]
    ids: tuple[str, ...]
    duplicate_of: tuple[str, ...]
    similarity: npt.NDArray[np.float32]
    cluster: npt.NDArray[np.int64]
    exact: tuple[ExactPair, ...] = ()  # grouped by the kept item, then by id

    @property
    def exact_groups(self) -> int:
        """Groups of equal bytes with a removed member (one kept item each)."""
        return len({pair.duplicate_of for pair in self.exact})

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


def _eps_values(keys: list[str], summary: dict[str, Any]) -> tuple[float, ...]:
    """The eps values the run computed: its summary's, else its per-eps CSV files' names."""
    tags = list(summary.get("eps") or {}) if isinstance(summary.get("eps"), dict) else []
    if not tags:
        tags = [m.group(1) for m in map(_EPS_CSV.fullmatch, keys) if m is not None]
    values = set()
    for tag in tags:
        try:
            values.add(float(tag))
        except ValueError:
            continue
    return tuple(sorted(values))


def _exact_pairs(source: Source) -> tuple[ExactPair, ...]:
    data = source.read(EXACT)
    if data is None:
        return ()
    table = tables.read_parquet_bytes(data, ["id", "duplicate_of", "sha256"]).to_pydict()
    columns = (table["id"], table["duplicate_of"], table["sha256"])
    pairs = [ExactPair(*row) for row in zip(*columns, strict=True)]
    return tuple(sorted(pairs, key=lambda p: (p.duplicate_of, p.id)))


def load_dedup(source: Source) -> DedupIndex:
    """Read the dedup output of `source`; ViewPathError when it has no tables."""
    try:
        summary = json.loads(source.read("summary.json") or b"{}")
    except ValueError:
        summary = {}
    summary = summary if isinstance(summary, dict) else {}
    keys = source.keys(EXTRACTION)
    ids: list[str] = []
    dups: list[str] = []
    sims: list[npt.NDArray[np.float32]] = [np.zeros(0, np.float32)]
    clusters: list[npt.NDArray[np.int64]] = [np.zeros(0, np.int64)]
    files = {k: m for k, m in zip(keys, map(_CLUSTER.fullmatch, keys), strict=True) if m}
    for key, data in source.read_many(list(files)):
        match = files[key]
        table = tables.read_parquet_bytes(data, ["id", "duplicate_of", "similarity"])
        ids += table.column("id").to_pylist()
        dups += table.column("duplicate_of").to_pylist()
        sims.append(table.column("similarity").to_numpy().astype(np.float32))
        clusters.append(np.full(table.num_rows, int(match.group(1)), dtype=np.int64))
    eps_values = _eps_values(keys, summary)
    exact = _exact_pairs(source)
    if (not files or not eps_values) and EXACT not in keys:
        msg = (
            f"{source} holds no pruning tables (extraction/semdedup_pruning_tables/), eps "
            "summary or exact duplicates: give the --output-path of a finished dedup run"
        )
        raise ViewPathError(msg)
    if not files:
        eps_values = ()
    return DedupIndex(
        source, summary, eps_values, tuple(ids), tuple(dups),
        np.concatenate(sims), np.concatenate(clusters), exact,
    )  # fmt: skip


def split_of(summary: dict[str, Any]) -> str | None:
    """The split output a dedup or shard run read (`options.input_path`), as it was given."""
    options = summary.get("options")
    path = options.get("input_path") if isinstance(options, dict) else None
    return path if isinstance(path, str) and path else None
