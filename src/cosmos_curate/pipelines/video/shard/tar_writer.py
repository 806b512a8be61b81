"""One webdataset tar: per clip its `.mp4`, `.json` metadata, `.npy` embedding, `.txt` caption.

The sample key is the clip id (a `.` in it becomes `_`: webdataset splits keys at the first
dot; the metadata keeps the real id). Every file is read through `split_paths.resolve_inside`,
so a `clip_path` naming anything outside the split output is never packed. The tar is
built in a scratch file and published at once (`storage.publish`: durable locally, one
upload on S3): a reader never sees a partial tar at its final name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from cosmos_curate.core.storage import StorageOptions
from cosmos_curate.pipelines.video.dedup import storage
from cosmos_curate.pipelines.video.dedup.split_output import VideoClips, read_video_embeddings
from cosmos_curate.pipelines.video.shard.split_paths import resolve_inside


def sample_key(clip_id: str) -> str:
    """The webdataset key of a clip."""
    return clip_id.replace(".", "_")


def _caption_text(meta: dict[str, Any]) -> str | None:
    caption = meta.get("caption")
    if isinstance(caption, str) and caption:
        return caption
    windows = meta.get("windows")
    if isinstance(windows, list):
        texts = [w.get("caption") for w in windows if isinstance(w, dict) and w.get("caption")]
        return "\n".join(str(t) for t in texts) or None
    return None


def meta_path(clip_id: str) -> str:
    """Where a clip's metadata lives, relative to the split output."""
    return f"metas/{clip_id}.json"


def clip_path_of(clip_id: str, meta: dict[str, Any]) -> object:
    """The clip's mp4, relative to the split output, as its metadata names it (unchecked)."""
    return meta.get("clip_path") or f"clips/{clip_id}.mp4"


def samples(
    root: str, videos: list[VideoClips], order: list[str], inputs: StorageOptions
) -> Iterator[dict[str, Any]]:
    """Webdataset sample dicts for the clips in `order`, reading each video's embeddings once."""
    vectors: dict[str, npt.NDArray[np.float32]] = {}
    for video in videos:
        ids, matrix, _ = read_video_embeddings(root, video, inputs)
        vectors.update(zip(ids, matrix, strict=True))
    for clip_id in order:
        meta = json.loads(storage.read_bytes(resolve_inside(root, meta_path(clip_id)), inputs))
        sample: dict[str, Any] = {
            "__key__": sample_key(clip_id),
            "mp4": storage.read_bytes(resolve_inside(root, clip_path_of(clip_id, meta)), inputs),
            "json": json.dumps(meta, sort_keys=True).encode(),
        }
        if clip_id in vectors:
            sample["npy"] = vectors[clip_id]
        caption = _caption_text(meta)
        if caption is not None:
            sample["txt"] = caption
        yield sample


def write_tar(
    destination: str, sample_iter: Iterator[dict[str, Any]], outputs: StorageOptions
) -> tuple[int, int]:
    """Write the samples into a tar at `destination`, atomically; `(samples, bytes)`."""
    import webdataset

    scratch = storage.temp_file_for(destination)
    count = 0
    try:
        with scratch.open("wb") as raw, webdataset.TarWriter(raw) as writer:
            for sample in sample_iter:
                writer.write(sample)
                count += 1
        size = scratch.stat().st_size
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    storage.publish(scratch, destination, outputs)
    return count, size
