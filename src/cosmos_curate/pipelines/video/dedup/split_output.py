"""Reading a `video-split` output folder (local or S3): its clips, metadata and embeddings.

A clip belongs to the dataset when `metas/<clip_id>.json` exists (filtered clips have none).
Its embedding comes from a per-video parquet file when one exists (columns: clip id, span,
model, vector; accepted names `clip_id`/`id` and `embedding`/`vector`), else from
`embeddings/<clip_id>.npy`. A parquet file belongs to the video whose id is its stem (or
starts its stem, followed by `.`, `_` or `-`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.sketch import InputSummary, summarize
from cosmos_curate.pipelines.video.dedup import storage
from cosmos_curate.pipelines.video.storage import StoragePathError

ID_COLUMNS = ("clip_id", "id", "clip_uuid")
VECTOR_COLUMNS = ("embedding", "vector", "embeddings")


class SplitOutputError(StoragePathError):
    """The input is not a `video-split` output (no `metas/` with clips)."""


@attrs.frozen
class VideoClips:
    """One video's clips in a split output: ids, and the parquet embedding files named for it."""

    video_id: str
    clip_ids: tuple[str, ...]
    parquet_files: tuple[str, ...] = ()
    npy_clip_ids: frozenset[str] = frozenset()
    clip_bytes: tuple[int, ...] = ()
    """Size of each clip's mp4 (0 when missing), in `clip_ids` order."""

    def subset(self, clip_ids: Iterable[str]) -> VideoClips:
        """The same video restricted to some of its clips."""
        wanted = set(clip_ids)
        keep = [i for i, c in enumerate(self.clip_ids) if c in wanted]
        sizes = tuple(self.clip_bytes[i] for i in keep) if self.clip_bytes else ()
        return attrs.evolve(
            self,
            clip_ids=tuple(self.clip_ids[i] for i in keep),
            npy_clip_ids=frozenset(c for c in self.npy_clip_ids if c in wanted),
            clip_bytes=sizes,
        )


def group_videos(videos: Iterable[VideoClips], clips_per_group: int) -> list[list[VideoClips]]:
    """Consecutive groups of whole videos holding about `clips_per_group` clips each."""
    groups: list[list[VideoClips]] = []
    current: list[VideoClips] = []
    clips = 0
    for video in videos:
        current.append(video)
        clips += len(video.clip_ids)
        if clips >= clips_per_group:
            groups.append(current)
            current, clips = [], 0
    if current:
        groups.append(current)
    return groups


def video_id_of(clip_id: str) -> str:
    """The video id a clip id starts with (`<video_id>_<start>_<end>`)."""
    parts = clip_id.rsplit("_", 2)
    return parts[0] if len(parts) == 3 else clip_id


def _parquet_owner(stem: str, video_ids: set[str]) -> str | None:
    """The video a parquet file is named for: its stem, or a prefix of it ending at `._-`."""
    if stem in video_ids:
        return stem
    for i, char in enumerate(stem):
        if char in "._-" and stem[:i] in video_ids:
            return stem[:i]
    return None


def summarize_split_output(root: str, inputs: StorageOptions) -> InputSummary:
    """The videos of a split output as a run's inputs: count, clip bytes, first ids."""
    videos = list_split_output(root, inputs)
    return summarize(root, "videos", ((v.video_id, sum(v.clip_bytes)) for v in videos))


def list_split_output(
    root: str, inputs: StorageOptions, *, clip_sizes: bool = True
) -> list[VideoClips]:
    """Every video with at least one written clip, sorted by video id; raises when empty.

    With `clip_sizes=False` the videos' `clip_bytes` stay empty and a local folder is
    listed without a `stat` per file.
    """
    if not storage.is_dir(root, inputs):
        msg = f"input path {root} does not exist (expected a video-split output folder)"
        raise SplitOutputError(msg)
    clips: dict[str, list[str]] = {}
    npy: set[str] = set()
    mp4_bytes: dict[str, int] = {}
    parquets: list[str] = []
    listed = (
        storage.list_files(root, inputs)
        if clip_sizes
        else ((key, -1) for key in storage.list_keys(root, inputs))
    )
    for rel, size in listed:
        # plain string splits: 200,000 metas made `PurePosixPath` the listing's largest cost
        top = rel.partition("/")[0] if "/" in rel else ""
        stem, dot, suffix = rel.rpartition("/")[2].rpartition(".")
        if not (dot and stem):  # as `PurePosixPath`: `.json` alone has no suffix
            continue
        if top == "metas" and suffix == "json":
            clips.setdefault(video_id_of(stem), []).append(stem)
        elif top == "clips" and suffix == "mp4":
            mp4_bytes[stem] = size
        elif top == "embeddings" and suffix == "npy":
            npy.add(stem)
        elif suffix == "parquet" and top not in ("metas", "clips"):
            parquets.append(rel)
    if not clips:
        msg = f"input path {root} has no clips (no metas/*.json): is it a video-split output?"
        raise SplitOutputError(msg)
    owned: dict[str, list[str]] = {}
    ids = set(clips)
    for rel in parquets:
        owner = _parquet_owner(PurePosixPath(rel).stem, ids)
        if owner is not None:
            owned.setdefault(owner, []).append(storage.join(root, rel))
    return [
        VideoClips(
            vid,
            tuple(sorted(cids)),
            tuple(sorted(owned.get(vid, []))),
            frozenset(c for c in cids if c in npy),
            tuple(mp4_bytes.get(c, 0) for c in sorted(cids)) if clip_sizes else (),
        )
        for vid, cids in sorted(clips.items())
    ]


def _first_column(names: Iterable[str], wanted: tuple[str, ...], path: str) -> str:
    names = list(names)
    for name in wanted:
        if name in names:
            return name
    msg = f"{path}: no column named any of {', '.join(wanted)} (columns: {', '.join(names)})"
    raise ValueError(msg)


Rows = npt.NDArray[np.float32] | list[npt.NDArray[np.float32]]
"""A file's embeddings: one matrix, or one array per row when their lengths differ."""


def _read_parquet_vectors(
    path: str, wanted: set[str], model: str | None, inputs: StorageOptions
) -> tuple[list[str], Rows]:
    """`(ids, rows)` of the `wanted` clips (of `model`, when given) in one parquet file."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    # `ParquetFile.read` skips `read_table`'s dataset set-up: a third of the CPU per small file
    data = pa.BufferReader(storage.read_bytes(path, inputs))
    table = pq.ParquetFile(data).read(use_threads=False)  # callers read files in parallel
    id_col = _first_column(table.column_names, ID_COLUMNS, path)
    vec_col = _first_column(table.column_names, VECTOR_COLUMNS, path)
    ids = [str(i) for i in table.column(id_col).to_pylist()]
    keep = np.asarray([cid in wanted for cid in ids], dtype=bool)
    keep &= table.column(vec_col).is_valid().to_numpy(zero_copy_only=False)
    if "model" in table.column_names:
        models = table.column("model")
        if model is None and len(pc.unique(models)) > 1:
            names = sorted(str(m) for m in pc.unique(models).to_pylist())
            msg = f"{path} holds embeddings of several models {names}: pick one with "
            msg += "--embedding-model"
            raise ValueError(msg)
        if model is not None:
            keep &= pc.equal(models, model).fill_null(False).to_numpy(zero_copy_only=False)
    if keep.all():  # the usual file: every row wanted, nothing to gather
        return ids, _rows(table.column(vec_col).combine_chunks())
    rows = np.flatnonzero(keep)
    vectors = table.column(vec_col).take(pa.array(rows, type=pa.int64())).combine_chunks()
    return [ids[i] for i in rows], _rows(vectors)


def _rows(vectors: Any) -> Rows:
    """The float32 rows of a (fixed-size) list column without nulls, read as one buffer."""
    import pyarrow.compute as pc

    if len(vectors) == 0:
        return []
    lengths = np.asarray(pc.list_value_length(vectors).to_numpy(zero_copy_only=False))
    flat = np.asarray(vectors.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
    if (lengths == lengths[0]).all():
        return flat.reshape(len(lengths), -1)
    return np.split(flat, np.cumsum(lengths)[:-1])


def read_video_embeddings(
    root: str, video: VideoClips, inputs: StorageOptions, model: str | None = None
) -> tuple[list[str], npt.NDArray[np.float32], list[str]]:
    """`(clip ids, unit-norm float32 matrix, ids without an embedding)` of one video."""
    wanted = set(video.clip_ids)
    sources: list[Rows] = []
    found: dict[str, tuple[int, int]] = {}  # clip id -> (source, row); a later file wins
    for path in video.parquet_files:
        file_ids, rows = _read_parquet_vectors(path, wanted, model, inputs)
        found.update((cid, (len(sources), i)) for i, cid in enumerate(file_ids))
        sources.append(rows)
    for cid in video.clip_ids:
        if cid not in found and cid in video.npy_clip_ids:
            data = storage.read_bytes(storage.join(root, "embeddings", f"{cid}.npy"), inputs)
            found[cid] = (len(sources), 0)
            sources.append([np.load(io.BytesIO(data)).astype(np.float32).reshape(-1)])
    ids = [c for c in video.clip_ids if c in found]
    missing = [c for c in video.clip_ids if c not in found]
    if not ids:
        return [], np.zeros((0, 0), dtype=np.float32), missing
    where = [found[c] for c in ids]
    dims = {len(sources[k][i]) for k, i in where}
    if len(dims) > 1:
        msg = f"video {video.video_id}: embeddings of different sizes {sorted(dims)}"
        raise ValueError(msg)
    only = sources[0] if len(sources) == 1 else None
    if isinstance(only, np.ndarray):  # the usual case, one file: one gather, no row objects
        order = [i for _, i in where]
        in_order = len(order) == len(only) and order == list(range(len(order)))
        matrix = only if in_order else only[order]
    else:
        matrix = np.stack([sources[k][i] for k, i in where])
    return ids, normalize(matrix), missing


def normalize(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.maximum(norms, 1e-12), dtype=np.float32)


def read_meta(root: str, clip_id: str, inputs: StorageOptions) -> dict[str, Any]:
    """The clip's metadata record."""
    data: dict[str, Any] = json.loads(
        storage.read_bytes(storage.join(root, "metas", f"{clip_id}.json"), inputs)
    )
    return data
