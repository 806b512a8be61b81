"""One webdataset tar: per clip its `.mp4`, `.json` metadata, `.npy` embedding, `.txt` caption.

The sample key is the clip id (a `.` in it becomes `_`: webdataset splits keys at the first
dot; the metadata keeps the real id). The tar is built in a scratch file and published at
once (`storage.publish`): a reader never sees a partial tar at its final name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from cosmos_curate.pipelines.video.dedup import storage
from cosmos_curate.pipelines.video.dedup.split_output import VideoClips, read_video_embeddings


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


def samples(root: str, videos: list[VideoClips], order: list[str]) -> Iterator[dict[str, Any]]:
    """Webdataset sample dicts for the clips in `order`, reading each video's embeddings once."""
    vectors: dict[str, npt.NDArray[np.float32]] = {}
    for video in videos:
        ids, matrix, _ = read_video_embeddings(root, video)
        vectors.update(zip(ids, matrix, strict=True))
    for clip_id in order:
        meta = json.loads(storage.read_bytes(storage.join(root, "metas", f"{clip_id}.json")))
        clip_path = meta.get("clip_path") or f"clips/{clip_id}.mp4"
        sample: dict[str, Any] = {
            "__key__": sample_key(clip_id),
            "mp4": storage.read_bytes(storage.join(root, clip_path)),
            "json": json.dumps(meta, sort_keys=True).encode(),
        }
        if clip_id in vectors:
            sample["npy"] = vectors[clip_id]
        caption = _caption_text(meta)
        if caption is not None:
            sample["txt"] = caption
        yield sample


def write_tar(destination: str, sample_iter: Iterator[dict[str, Any]]) -> tuple[int, int]:
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
    storage.publish(scratch, destination)
    return count, size
