"""One webdataset tar: per clip its `.mp4`, `.json` metadata, `.npy` embedding, `.txt` caption.

The sample key is the clip id (a `.` in it becomes `_`: webdataset splits keys at the first
dot; the metadata keeps the real id). Every file is read through `split_paths.resolve_inside`,
so a `clip_path` naming anything outside the split output is never packed. The tar is
built in a scratch file and published at once (`storage.publish`: durable locally, one
upload on S3): a reader never sees a partial tar at its final name.

The tar is written here rather than through `webdataset.TarWriter` (whose stream mode
re-copies every payload in 10 KB slices, and whose import pulls in torch); the bytes are
the same layout: per member a PAX header from `tarfile.TarInfo.tobuf`, mode 0444, owner
`bigdata`, the write time as mtime, members of a sample in sorted extension order.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Iterator
from typing import IO, Any

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


_OWNER = "bigdata"
_MODE = 0o444
_NUL_BLOCK = bytes(tarfile.BLOCKSIZE)


def encode_member(extension: str, value: object) -> bytes | bytearray | memoryview:
    """A sample value as a member's bytes: bytes as they are, text as UTF-8, arrays as `.npy`."""
    if isinstance(value, bytes | bytearray | memoryview):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, np.ndarray) and extension.rsplit(".", 1)[-1].lower() == "npy":
        stream = io.BytesIO()
        np.lib.format.write_array(stream, value)
        return stream.getbuffer()
    msg = f"sample member {extension!r}: cannot store a {type(value).__name__} in a tar"
    raise ValueError(msg)


def _write_member(out: IO[bytes], name: str, data: bytes | bytearray | memoryview) -> int:
    """Append one member (header, payload in one write, padding); its size in bytes."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = time.time()  # type: ignore[assignment]  # float: kept in a PAX header
    info.mode = _MODE
    info.uname = info.gname = _OWNER
    out.write(info.tobuf(tarfile.PAX_FORMAT, tarfile.ENCODING, "surrogateescape"))
    out.write(data)
    remainder = info.size % tarfile.BLOCKSIZE
    if remainder:
        out.write(_NUL_BLOCK[remainder:])
    return info.size


def write_sample(out: IO[bytes], sample: dict[str, Any]) -> int:
    """Append a webdataset sample's members (`<key>.<ext>`, extensions sorted); bytes written."""
    if "__key__" not in sample:
        msg = "sample has no __key__"
        raise ValueError(msg)
    key = sample["__key__"]
    members = [(ext, encode_member(ext, sample[ext])) for ext in sorted(sample) if ext[0] != "_"]
    return sum(_write_member(out, f"{key}.{ext}", data) for ext, data in members)


def _end_archive(out: IO[bytes], offset: int) -> None:
    """Two zero blocks, then zeros up to a whole tar record (as `tarfile` ends a stream)."""
    offset += 2 * tarfile.BLOCKSIZE
    out.write(_NUL_BLOCK * 2)
    remainder = offset % tarfile.RECORDSIZE
    if remainder:
        out.write(bytes(tarfile.RECORDSIZE - remainder))


def write_tar(
    destination: str, sample_iter: Iterator[dict[str, Any]], outputs: StorageOptions
) -> tuple[int, int]:
    """Write the samples into a tar at `destination`, atomically; `(samples, bytes)`."""
    scratch = storage.temp_file_for(destination)
    count = 0
    try:
        with scratch.open("wb") as out:  # payloads over 8 KB skip the buffer: no copy
            for sample in sample_iter:
                write_sample(out, sample)
                count += 1
            _end_archive(out, out.tell())
        size = scratch.stat().st_size
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    storage.publish(scratch, destination, outputs)
    return count, size
