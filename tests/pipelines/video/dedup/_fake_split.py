"""A `video-split` output folder made directly (no video decoding): metas, embeddings, clips.

Used where the test is about dedup or sharding, not about splitting: each clip gets a small
mp4-named payload, a metadata record as the writer makes it, and its embedding either as
`embeddings/<clip_id>.npy` or in a per-video parquet file (clip_id, span, model, vector).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt


def clip_id(video: str, index: int) -> str:
    """The clip id `video-split` would give clip `index` of `video` (10 frames per clip)."""
    return f"{video}_{index * 10:07d}_{index * 10 + 10:07d}"


def write_clip(
    root: Path,
    video: str,
    index: int,
    vector: Sequence[float] | None,
    *,
    width: int = 1280,
    height: int = 720,
    duration_s: float = 6.0,
    payload: bytes | None = None,
    npy: bool = True,
) -> str:
    """One clip's files; returns its id."""
    cid = clip_id(video, index)
    (root / "clips").mkdir(parents=True, exist_ok=True)
    (root / "metas").mkdir(parents=True, exist_ok=True)
    (root / "clips" / f"{cid}.mp4").write_bytes(payload or f"mp4:{cid}".encode() * 50)
    if vector is not None and npy:
        (root / "embeddings").mkdir(parents=True, exist_ok=True)
        np.save(root / "embeddings" / f"{cid}.npy", np.asarray(vector, dtype=np.float32))
    meta = {
        "clip_id": cid,
        "video_id": video,
        "clip_path": f"clips/{cid}.mp4",
        "duration_s": duration_s,
        "width": width,
        "height": height,
        "num_frames": int(duration_s * 10),
        "fps": 10.0,
        "caption": f"caption of {cid}",
        "span": {"start_s": index * 1.0, "end_s": index * 1.0 + duration_s},
        "embedding_path": f"embeddings/{cid}.npy" if vector is not None else None,
    }
    (root / "metas" / f"{cid}.json").write_text(json.dumps(meta))
    return cid


def write_parquet(
    root: Path, video: str, rows: Sequence[tuple[str, npt.ArrayLike]], model: str = "clip"
) -> Path:
    """`embeddings/<video>.parquet` with columns clip_id, span, model, vector."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "clip_id": [cid for cid, _ in rows],
            "span": [[0.0, 1.0] for _ in rows],
            "model": [model for _ in rows],
            "vector": [np.asarray(v, dtype=np.float32).tolist() for _, v in rows],
        }
    )
    path = root / "embeddings" / f"{video}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def planted_vectors(
    n_distinct: int, dim: int, seed: int = 0
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """`n_distinct` random unit vectors (far apart in `dim` dimensions) and a near copy of each."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n_distinct, dim)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    near = base + 0.01 * rng.normal(size=base.shape).astype(np.float32) / np.sqrt(dim)
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    return base, near


def make_dataset(root: Path, dim: int = 24) -> dict[str, list[str]]:
    """A split output with planted near-duplicates and awkward inputs; returns clip ids by role.

    - `distinct`: 24 videos of one clip each, random far-apart embeddings (.npy);
    - `pairs`: near copies of the first 4 distinct clips (one per video: `copy<i>`);
    - `parquet`: a 2-clip video whose embeddings are only in `embeddings/<video>.parquet`;
    - `no_embedding`: a clip without any embedding (kept, never compared);
    - `corrupt`: a video whose `.npy` is not an array (a failure record);
    - `short`: a 3-second clip (no default duration bucket).
    """
    base, near = planted_vectors(28, dim)
    roles: dict[str, list[str]] = {
        k: [] for k in ("distinct", "pairs", "parquet", "no_embedding", "corrupt", "short")
    }
    for i in range(24):
        roles["distinct"].append(write_clip(root, f"vid{i:02d}-0000aaaa", 0, base[i]))
    for i in range(4):
        roles["pairs"].append(write_clip(root, f"copy{i}-0000bbbb", 0, near[i]))
    pq_ids = [write_clip(root, "tab-0000cccc", i, None) for i in range(2)]
    write_parquet(root, "tab-0000cccc", [(pq_ids[0], base[24]), (pq_ids[1], base[25])])
    roles["parquet"] = pq_ids
    roles["no_embedding"].append(write_clip(root, "bare-0000dddd", 0, None))
    bad = write_clip(root, "bad-0000eeee", 0, base[26])
    (root / "embeddings" / f"{bad}.npy").write_bytes(b"not an array")
    roles["corrupt"].append(bad)
    roles["short"].append(write_clip(root, "short-0000ffff", 0, base[27], duration_s=3.0))
    return roles
