"""The kept images as parquet tables, for downstream tools: `OUT/annotations_parquet/`.

After each run the driver writes the images that are in `metas/` but in no table yet
(this run's, and any an interrupted run left out) as parts of at most `PART_ROWS` rows,
`part-<run id>-<n>.parquet`, so every kept image is in exactly one part and a part never
changes once written. Each part is published whole and durably through the layout's
storage (the video flow's `publish_table`). Columns (`SCHEMA`), one row per kept image,
copied from its `metas/<image_id>.json` and `.npy`:

| column | type | meaning |
|---|---|---|
| `image_id` | string | the image (`metas/<image_id>.json`) |
| `image_path` | string | its original bytes, relative to the output |
| `source` | string | where it was read from |
| `width`, `height` | int64 | pixels, EXIF orientation applied |
| `embedding` | list<float32> | the unit-norm CLIP embedding (null with `--no-embeddings`) |
| `aesthetic_score` | float64 | `scores.aesthetic` (null when not scored) |
| `caption` | string | the caption (null with `--skip-captions`) |
| `caption_model` | string | the model that wrote it |

The schema is versioned in the file metadata (`cosmos_curate.schema` = `SCHEMA_VERSION`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cosmos_curate.pipelines.image.layout import ImageLayout
from cosmos_curate.pipelines.video.embedding_table import publish_table

SCHEMA_VERSION = "image-annotations/1"
TABLE_DIR = "annotations_parquet"  # own folder: parquet dataset readers take it whole
PART_ROWS = 10_000
SCHEMA = pa.schema(
    [
        pa.field("image_id", pa.string(), nullable=False),
        pa.field("image_path", pa.string(), nullable=False),
        pa.field("source", pa.string()),
        pa.field("width", pa.int64()),
        pa.field("height", pa.int64()),
        pa.field("embedding", pa.list_(pa.field("element", pa.float32()))),
        pa.field("aesthetic_score", pa.float64()),
        pa.field("caption", pa.string()),
        pa.field("caption_model", pa.string()),
    ],
    metadata={"cosmos_curate.schema": SCHEMA_VERSION},
)


def tabled_ids(layout: ImageLayout) -> set[str]:
    """The image ids already in some part (reads only the `image_id` column)."""
    ids: set[str] = set()
    for entry in layout.storage.list(TABLE_DIR):
        if entry.key.endswith(".parquet"):
            raw = layout.storage.read_bytes(entry.key)
            ids.update(pq.read_table(io.BytesIO(raw), columns=["image_id"]).column(0).to_pylist())
    return ids


def _row(layout: ImageLayout, image_id: str) -> dict[str, Any] | None:
    meta = layout.read_json(layout.image_meta(image_id))
    if not isinstance(meta, dict):
        return None  # rejected or failed: not a kept image
    embedding = None
    if meta.get("embedding_path"):
        raw = layout.storage.read_bytes(meta["embedding_path"])
        embedding = np.load(io.BytesIO(raw)).astype(np.float32).reshape(-1).tolist()
    return {
        "image_id": image_id,
        "image_path": meta["image_path"],
        "source": meta.get("source"),
        "width": meta.get("width"),
        "height": meta.get("height"),
        "embedding": embedding,
        "aesthetic_score": (meta.get("scores") or {}).get("aesthetic"),
        "caption": meta.get("caption"),
        "caption_model": meta.get("caption_model"),
    }


def write_parts(
    layout: ImageLayout, image_ids: Iterable[str], run_id: str, part_rows: int = PART_ROWS
) -> list[str]:
    """Write the kept images among `image_ids` that no part holds yet; the keys written."""
    done = tabled_ids(layout)
    rows = [r for i in dict.fromkeys(image_ids) if i not in done and (r := _row(layout, i))]
    keys = []
    for start in range(0, len(rows), part_rows):
        key = f"{TABLE_DIR}/part-{run_id}-{start // part_rows:05d}.parquet"
        publish_table(layout, key, pa.Table.from_pylist(rows[start : start + part_rows], SCHEMA))
        keys.append(key)
    return keys


def read_parts(layout: ImageLayout) -> pa.Table:
    """Every part as one table (empty when none), checked against the schema version."""
    tables = []
    for entry in layout.storage.list(TABLE_DIR):
        if not entry.key.endswith(".parquet"):
            continue
        table = pq.read_table(io.BytesIO(layout.storage.read_bytes(entry.key)))
        version = (table.schema.metadata or {}).get(b"cosmos_curate.schema", b"").decode()
        if version != SCHEMA_VERSION:
            msg = f"{entry.key}: not an image table ({SCHEMA_VERSION!r}, found {version!r})"
            raise ValueError(msg)
        tables.append(table)
    return pa.concat_tables(tables) if tables else SCHEMA.empty_table()
