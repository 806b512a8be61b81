"""The output tree (a local folder or an S3 prefix): names, JSON records, "video finished".

```
OUT/clips/<clip_id>.mp4                 transcoded clip (video, and audio when the source has it)
OUT/metas/<clip_id>.json                clip metadata (source, span, scores, caption, ...)
OUT/embeddings/<clip_id>.npy            mean CLIP embedding (float32, unit norm)
OUT/filtered_clips/<clip_id>.mp4        clips a filter dropped (when they were transcoded)
OUT/filtered_clips/<clip_id>.json       their metadata, with `filtered_by` and `filter_reason`
OUT/videos/<video_id>.json              source metadata and chunk count (written by ingest)
OUT/state/<video_id>/chunk-<i>.json     the clip ids one chunk produced (written by split)
OUT/failures/<run>.jsonl                failure records of one run
OUT/summary.json                        the last run's summary
```
A video is finished when its record, every chunk manifest, and a metadata or filtered
record for every clip the manifests list exist; a rerun skips finished videos. Every local
file is published durably (`core.storage`) and a clip's metadata only after its mp4, so after
a crash, power loss included, a metadata file never names a clip that is missing or short.
Clip ids are derived from the video id and the frame span, so a rerun overwrites, never
duplicates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs

from cosmos_curate.core.storage import DataFolder
from cosmos_curate.pipelines.video.storage import S3Config, open_storage


def clip_id_for(video_id: str, start_frame: int, end_frame: int) -> str:
    """Deterministic clip id from its video and frame span."""
    return f"{video_id}_{start_frame:07d}_{end_frame:07d}"


def _parse_json(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


@attrs.define
class OutputLayout:
    """Keys and records inside one output tree (`root`: a folder or an s3:// prefix)."""

    root: str = attrs.field(converter=str)
    s3: S3Config = attrs.field(factory=S3Config)
    storage: DataFolder = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.storage = open_storage(self.root, self.s3)

    # -- keys -------------------------------------------------------------------------
    @staticmethod
    def clip_mp4(clip_id: str) -> str:
        """The clip's video file."""
        return f"clips/{clip_id}.mp4"

    @staticmethod
    def clip_meta(clip_id: str) -> str:
        """The clip's metadata JSON."""
        return f"metas/{clip_id}.json"

    @staticmethod
    def clip_embedding(clip_id: str) -> str:
        """The clip's embedding."""
        return f"embeddings/{clip_id}.npy"

    @staticmethod
    def filtered_mp4(clip_id: str) -> str:
        """The video of a clip a filter dropped."""
        return f"filtered_clips/{clip_id}.mp4"

    @staticmethod
    def filtered_record(clip_id: str) -> str:
        """Metadata of a clip a filter dropped."""
        return f"filtered_clips/{clip_id}.json"

    @staticmethod
    def video_record(video_id: str) -> str:
        """Source metadata and chunk count of one video."""
        return f"videos/{video_id}.json"

    @staticmethod
    def chunk_manifest(video_id: str, index: int) -> str:
        """The clip ids chunk `index` of a video produced."""
        return f"state/{video_id}/chunk-{index:05d}.json"

    summary = "summary.json"

    # -- records ----------------------------------------------------------------------
    def write_json(self, key: str, data: Any) -> None:
        """Store `data` as JSON under `key` (atomically and durably)."""
        self.storage.write_bytes(key, self.json_bytes(data))

    @staticmethod
    def json_bytes(data: Any) -> bytes:
        """`data` as the JSON bytes of a record (sorted keys: reruns give identical files)."""
        return json.dumps(data, indent=2, sort_keys=True).encode()

    def write_bytes(self, key: str, data: bytes) -> None:
        """Store bytes under `key` (atomically and durably)."""
        self.storage.write_bytes(key, data)

    def read_json(self, key: str) -> Any:
        """Parsed JSON under `key`, or None when missing or torn."""
        try:
            return _parse_json(self.storage.read_bytes(key))
        except FileNotFoundError:
            return None

    def exists(self, key: str) -> bool:
        """Whether `key` holds an object."""
        return self.storage.exists(key)

    def url(self, key: str) -> str:
        """Where `key` lives (a path or an s3:// URL)."""
        return self.storage.url_of(key)

    def local_path(self, key: str) -> Path | None:
        """The local file of `key`, or None when the output is on S3."""
        return self.storage.path(key) if self.storage.is_local else None

    # -- progress ---------------------------------------------------------------------
    def clip_done(self, clip_id: str) -> bool:
        """Whether the writer recorded this clip (written or filtered)."""
        return self.exists(self.clip_meta(clip_id)) or self.exists(self.filtered_record(clip_id))

    def manifests(self, video_id: str) -> list[dict[str, Any]] | None:
        """All chunk manifests of a video, or None when the video is not fully split."""
        record = self.read_json(self.video_record(video_id))
        if not isinstance(record, dict):
            return None
        found = []
        for index in range(int(record.get("num_chunks", 0))):
            manifest = self.read_json(self.chunk_manifest(video_id, index))
            if not isinstance(manifest, dict):
                return None
            found.append(manifest)
        return found

    def video_done(self, video_id: str) -> bool:
        """Whether every clip of the video has been written or recorded as filtered."""
        manifests = self.manifests(video_id)
        if manifests is None:
            return False
        return all(self.clip_done(c) for m in manifests for c in m.get("clip_ids", []))
