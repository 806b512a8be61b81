"""The output folder: file names, atomic JSON writes and the "video finished" check.

```
OUT/clips/<clip_id>.mp4          H.264 clip
OUT/metas/<clip_id>.json         clip metadata (source, span, scores, caption, embedding path)
OUT/embeddings/<clip_id>.npy     mean CLIP embedding (float32, unit norm)
OUT/filtered/<clip_id>.json      clips a filter dropped, with the filter and the scores
OUT/videos/<video_id>.json       source metadata and chunk count (written by ingest)
OUT/state/<video_id>/chunk-<i>.json   the clip ids one chunk produced (written by split)
OUT/failures/<run>.jsonl         failure records of one run
OUT/summary.json                 the last run's summary
```
A video is finished when its record, every chunk manifest, and a metadata or filtered
record for every clip the manifests list exist; a rerun skips finished videos. Clip ids are
derived from the video id and the frame span, so a rerun overwrites, never duplicates.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs


def clip_id_for(video_id: str, start_frame: int, end_frame: int) -> str:
    """Deterministic clip id from its video and frame span."""
    return f"{video_id}_{start_frame:07d}_{end_frame:07d}"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON through a temporary file and a rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write bytes through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def read_json(path: Path) -> Any:
    """Parsed JSON, or None when the file is missing or torn."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


@attrs.frozen
class OutputLayout:
    """Paths inside one output folder."""

    root: Path = attrs.field(converter=Path)

    def clip_mp4(self, clip_id: str) -> Path:
        """The clip's video file."""
        return self.root / "clips" / f"{clip_id}.mp4"

    def clip_meta(self, clip_id: str) -> Path:
        """The clip's metadata JSON."""
        return self.root / "metas" / f"{clip_id}.json"

    def clip_embedding(self, clip_id: str) -> Path:
        """The clip's embedding."""
        return self.root / "embeddings" / f"{clip_id}.npy"

    def filtered_record(self, clip_id: str) -> Path:
        """Record of a clip a filter dropped."""
        return self.root / "filtered" / f"{clip_id}.json"

    def video_record(self, video_id: str) -> Path:
        """Source metadata and chunk count of one video."""
        return self.root / "videos" / f"{video_id}.json"

    def chunk_manifest(self, video_id: str, index: int) -> Path:
        """The clip ids chunk `index` of a video produced."""
        return self.root / "state" / video_id / f"chunk-{index:05d}.json"

    def failures_file(self, run_id: str) -> Path:
        """Failure records of one run."""
        return self.root / "failures" / f"{run_id}.jsonl"

    @property
    def summary(self) -> Path:
        """The last run's summary."""
        return self.root / "summary.json"

    def clip_done(self, clip_id: str) -> bool:
        """Whether the writer recorded this clip (written or filtered)."""
        return self.clip_meta(clip_id).is_file() or self.filtered_record(clip_id).is_file()

    def manifests(self, video_id: str) -> list[dict[str, Any]] | None:
        """All chunk manifests of a video, or None when the video is not fully split."""
        record = read_json(self.video_record(video_id))
        if not isinstance(record, dict):
            return None
        found = []
        for index in range(int(record.get("num_chunks", 0))):
            manifest = read_json(self.chunk_manifest(video_id, index))
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
