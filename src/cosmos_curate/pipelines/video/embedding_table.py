"""Embeddings as a table: one parquet file per video, beside the per-clip `.npy` files.

`OUT/embeddings_parquet/<video_id>.parquet` has one row per written clip that has an
embedding (filtered clips have none), in clip order, with the columns of `SCHEMA`:

| column | type | meaning |
|---|---|---|
| `clip_id` | string | the clip (`metas/<clip_id>.json`, `clips/<clip_id>.mp4`) |
| `video_id` | string | its source video |
| `start_s`, `end_s` | float64 | span in the source, seconds (end exclusive) |
| `start_frame`, `end_frame` | int64 | span in source frames (end exclusive) |
| `algorithm` | string | `--embedding-algorithm` (`clip`, `cosmos-embed1-224p`, ...) |
| `model` | string | the checkpoint that made it (Hugging Face id) |
| `vector` | list<float32> | the unit-norm embedding, the same as the `.npy` |

The file is written once every clip of the video is recorded (by `EmbeddingTableStage`
after the writer), so a complete video has a complete table; a video whose clips were all
filtered gets an empty one. The schema is versioned in the file metadata
(`cosmos_curate.schema` = `SCHEMA_VERSION`) and only ever grows by new columns.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cosmos_curate.core.interfaces.stage_interface import CuratorStage, CuratorStageResource
from cosmos_curate.pipelines.video.layout import OutputLayout
from cosmos_curate.pipelines.video.tasks import ClipTask

SCHEMA_VERSION = "video-embeddings/1"
TABLE_DIR = "embeddings_parquet"  # own folder: parquet dataset readers take it whole
SCHEMA = pa.schema(
    [
        pa.field("clip_id", pa.string(), nullable=False),
        pa.field("video_id", pa.string(), nullable=False),
        pa.field("start_s", pa.float64()),
        pa.field("end_s", pa.float64()),
        pa.field("start_frame", pa.int64()),
        pa.field("end_frame", pa.int64()),
        pa.field("algorithm", pa.string()),
        pa.field("model", pa.string()),
        pa.field("vector", pa.list_(pa.field("element", pa.float32())), nullable=False),
    ],
    metadata={"cosmos_curate.schema": SCHEMA_VERSION},
)


def table_key(video_id: str) -> str:
    """Where a video's table is stored, relative to the output root."""
    return f"{TABLE_DIR}/{video_id}.parquet"


def _row(layout: OutputLayout, clip_id: str, video_id: str) -> dict[str, Any] | None:
    meta = layout.read_json(layout.clip_meta(clip_id))
    if not isinstance(meta, dict) or not meta.get("embedding_path"):
        return None
    raw = layout.storage.read_bytes(meta["embedding_path"])
    if raw is None:
        msg = f"clip {clip_id}: its metadata names {meta['embedding_path']}, which is missing"
        raise FileNotFoundError(msg)
    vector = np.load(io.BytesIO(raw)).astype(np.float32).reshape(-1)
    span = meta.get("span", {})
    return {
        "clip_id": clip_id,
        "video_id": video_id,
        "start_s": span.get("start_s"),
        "end_s": span.get("end_s"),
        "start_frame": span.get("start_frame"),
        "end_frame": span.get("end_frame"),
        "algorithm": meta.get("embedding_algorithm"),
        "model": meta.get("embedding_model"),
        "vector": vector.tolist(),
    }


def build_table(layout: OutputLayout, video_id: str) -> pa.Table | None:
    """The video's table from the files on disk, or None while the video is unfinished."""
    manifests = layout.manifests(video_id)
    if manifests is None:
        return None
    clip_ids = sorted(c for m in manifests for c in m.get("clip_ids", []))
    # Clips finish roughly in order: checking from the last one makes an unfinished video's
    # check stop at once, so the per-clip checks stay cheap for long videos.
    if not all(layout.clip_done(c) for c in reversed(clip_ids)):
        return None
    rows = [r for c in clip_ids if (r := _row(layout, c, video_id)) is not None]
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def write_table(layout: OutputLayout, video_id: str) -> bool:
    """Write the video's table if the video is finished; whether it was written."""
    table = build_table(layout, video_id)
    if table is None:
        return False
    publish_table(layout, table_key(video_id), table)
    return True


def publish_table(layout: OutputLayout, key: str, table: pa.Table) -> None:
    """Store `table` as the parquet file `key`, whole and durably (the layout's storage)."""
    out = io.BytesIO()
    pq.write_table(table, out)
    layout.write_bytes(key, out.getvalue())


def ensure_table(layout: OutputLayout, video_id: str) -> bool:
    """Write a finished video's table when it is missing (a run stopped just before)."""
    if layout.exists(table_key(video_id)):
        return True
    return write_table(layout, video_id)


def read_table(path: str) -> pa.Table:
    """One table file (a local path), checked against the schema version it was written with."""
    table = pq.read_table(path)
    version = (table.schema.metadata or {}).get(b"cosmos_curate.schema", b"").decode()
    if version != SCHEMA_VERSION:
        msg = f"{path}: not a video embeddings table ({SCHEMA_VERSION!r}, found {version!r})"
        raise ValueError(msg)
    return table


class EmbeddingTableStage(CuratorStage[ClipTask, ClipTask]):
    """After the writer: writes a video's table once all of its clips are recorded."""

    def __init__(self, layout: OutputLayout) -> None:
        self.layout = layout

    @property
    def resources(self) -> CuratorStageResource:
        """CPUs and GPUs one worker needs."""
        return CuratorStageResource(cpus=0.25)

    def stage_setup(self) -> None:
        """Pay pyarrow's one-time parquet start-up (about a second) before the first clip."""
        pq.write_table(SCHEMA.empty_table(), io.BytesIO())

    def process_data(self, tasks: list[ClipTask]) -> list[ClipTask] | None:
        """Process a batch; see the class docstring."""
        # Whichever worker records a video's last clip sees it finished and writes the
        # table; two seeing it at once write the same bytes. A finished video's table is
        # final (reruns skip finished videos), so clips arriving later leave it alone.
        for video_id in sorted({t.video_id for t in tasks}):
            ensure_table(self.layout, video_id)
        return tasks
