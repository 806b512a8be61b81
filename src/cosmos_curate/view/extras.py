"""Routes of the dedup and shard views (added to the app when PATH is such an output)."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cosmos_curate.view import shards as shard_data
from cosmos_curate.view.dedup import DedupIndex, ExactPair, Pair
from cosmos_curate.view.index import OutputIndex, Row
from cosmos_curate.view.paths import not_found
from cosmos_curate.view.query import MAX_PER_PAGE, PER_PAGE
from cosmos_curate.view.ranges import part_response

RowJson = Callable[[Row], dict[str, Any]]


def _int(text: str | None, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(text))) if text else default
    except ValueError:
        return default


class DedupRoutes:
    """`/api/dedup?eps=&cluster=&page=&per=&exact_page=`: what an eps keeps and removes.

    Exact duplicates (same bytes, an image-dedup run's) are listed too: removed at every eps.
    """

    def __init__(self, dedup: DedupIndex, index: OutputIndex, row_json: RowJson) -> None:
        self.dedup = dedup
        self.index = index
        self.row_json = row_json
        self.sizes = dedup.cluster_sizes()

    def _clip(self, clip_id: str) -> dict[str, Any]:
        row = self.index.row(clip_id)
        return {"id": clip_id} if row is None else self.row_json(row)

    def _pair(self, pair: Pair) -> dict[str, Any]:
        return {
            "similarity": pair.similarity,
            "cluster": pair.cluster,
            "removed": self._clip(pair.id),
            "duplicate_of": self._clip(pair.duplicate_of),
        }

    def _exact(self, pair: ExactPair) -> dict[str, Any]:
        return {
            "sha256": pair.sha256,
            "removed": self._clip(pair.id),
            "duplicate_of": self._clip(pair.duplicate_of),
        }

    def _eps(self, text: str | None) -> float | None:
        """The run's eps nearest `text` (the first when missing or malformed).

        None when the run computed none (exact duplicates only).
        """
        values = self.dedup.eps_values
        if not values:
            return None
        try:
            wanted = float(text) if text else values[0]
        except ValueError:
            wanted = values[0]
        return min(values, key=lambda v: abs(v - wanted))

    async def eps_view(self, request: Request) -> Response:
        params = request.query_params
        eps = self._eps(params.get("eps"))
        cluster = _int(params.get("cluster"), -1, -1, 2**62)
        view = None if eps is None else self.dedup.at(eps, None if cluster < 0 else cluster)
        per = _int(params.get("per"), PER_PAGE, 1, MAX_PER_PAGE)
        page = _int(params.get("page"), 1, 1, 10**9)
        exact_page = _int(params.get("exact_page"), 1, 1, 10**9)
        pairs = [] if view is None else view.pairs
        shown = pairs[(page - 1) * per : page * per]
        exact = self.dedup.exact[(exact_page - 1) * per : exact_page * per]
        counts = self.dedup.summary.get("eps")
        removed_by_cluster = {} if view is None else view.removed_by_cluster
        return JSONResponse(
            {
                "kind": self.index.kind,
                "eps": eps,
                "threshold": None if eps is None else 1 - eps,
                "eps_values": list(self.dedup.eps_values),
                "root": str(self.dedup.source),
                "kept": None if view is None else view.kept,
                "removed": None if view is None else view.removed,
                "total": None if view is None else view.total,
                "exact_removed": len(self.dedup.exact),
                "exact_groups": self.dedup.exact_groups,
                "exact_page": exact_page,
                "exact": [self._exact(p) for p in exact],
                "run_counts": counts if isinstance(counts, dict) else None,
                "cluster": None if cluster < 0 else cluster,
                "clusters": [
                    {"cluster": c, "size": n, "removed": removed_by_cluster.get(c, 0)}
                    for c, n in sorted(self.sizes.items(), key=lambda cn: (-cn[1], cn[0]))
                ],
                "pairs_total": len(pairs),
                "page": page,
                "per": per,
                "pairs": [self._pair(p) for p in shown],
            }
        )


class ShardRoutes:
    """`/api/shards` (buckets and tars), `/api/tar/<path>` (samples), `/member/<path>?name=`."""

    def __init__(self, shards: shard_data.ShardIndex) -> None:
        self.shards = shards

    @staticmethod
    def _bucket(bucket: shard_data.Bucket) -> dict[str, Any]:
        return {
            "name": bucket.name,
            "samples": bucket.samples,
            "tars_planned": bucket.tars_planned,
            "tars": [{"path": t.path, "bytes": t.num_bytes} for t in bucket.tars],
        }

    async def buckets(self, request: Request) -> Response:
        index = self.shards.index
        keys = ("complete", "samples", "clips_found", "clips_removed_by_dedup",
                "clips_unbucketed", "clips_not_written", "missing_tars", "dedup")  # fmt: skip
        return JSONResponse(
            {
                "root": str(self.shards.source),
                **{k: index.get(k) for k in keys},
                "buckets": [self._bucket(b) for b in self.shards.buckets],
            }
        )

    def tar(self, request: Request) -> Response:
        source = self.shards.source
        key = self.shards.tar_key(request.path_params["path"])
        size = None if key is None else source.size(key)
        if key is None or size is None:
            return not_found()
        found = shard_data.members(source, key)
        return JSONResponse(
            {"path": key, "bytes": size, "samples": shard_data.samples(found)}
        )  # fmt: skip

    def member(self, request: Request) -> Response:
        source = self.shards.source
        key = self.shards.tar_key(request.path_params["path"])
        name = request.query_params.get("name")
        found = [m for m in shard_data.members(source, key) if m.name == name] if key else []
        if key is None or not found:
            return not_found()
        member = found[0]
        media_type = mimetypes.guess_type(member.name)[0] or "application/octet-stream"
        return part_response(
            source.reader(key), member.offset, member.size, media_type,
            request.headers.get("range"),
        )  # fmt: skip
