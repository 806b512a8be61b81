"""Per-video embedding tables from the writer's files, without Ray."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from cosmos_curate.pipelines.video.embedding_table import (
    SCHEMA,
    build_table,
    ensure_table,
    read_table,
    table_key,
)
from cosmos_curate.pipelines.video.layout import OutputLayout, clip_id_for


def _record_clip(layout: OutputLayout, video: str, start: int, vector: list[float] | None) -> str:
    """What the writer leaves for one clip: metadata, and an .npy when it has an embedding."""
    cid = clip_id_for(video, start, start + 10)
    meta = {
        "clip_id": cid,
        "span": {"start_s": start / 10, "end_s": (start + 10) / 10, "start_frame": start,
                 "end_frame": start + 10},
        "embedding_path": None,
        "embedding_algorithm": "clip",
        "embedding_model": "tiny/clip",
    }  # fmt: skip
    if vector is not None:
        buf = io.BytesIO()
        np.save(buf, np.asarray(vector, dtype=np.float32))
        layout.write_bytes(layout.clip_embedding(cid), buf.getvalue())
        meta["embedding_path"] = layout.clip_embedding(cid)
    layout.write_json(layout.clip_meta(cid), meta)
    return cid


def _plan(layout: OutputLayout, video: str, starts: list[int]) -> None:
    """The ingest record and the split manifest of a one-chunk video."""
    layout.write_json(layout.video_record(video), {"num_chunks": 1})
    ids = [clip_id_for(video, s, s + 10) for s in starts]
    layout.write_json(layout.chunk_manifest(video, 0), {"clip_ids": ids})


def test_table_waits_for_the_last_clip_then_holds_every_vector(tmp_path: Path) -> None:
    """No table while a clip is missing; then one row per clip with span, model and vector."""
    layout = OutputLayout(str(tmp_path))
    _plan(layout, "v", [0, 10])
    _record_clip(layout, "v", 10, [0.0, 1.0])
    assert build_table(layout, "v") is None
    assert not ensure_table(layout, "v") and not (tmp_path / table_key("v")).exists()
    _record_clip(layout, "v", 0, [1.0, 0.0])
    assert ensure_table(layout, "v")
    table = read_table(str(tmp_path / table_key("v")))
    assert table.schema.equals(SCHEMA, check_metadata=True)
    rows = table.to_pylist()
    assert [r["clip_id"] for r in rows] == ["v_0000000_0000010", "v_0000010_0000020"]
    assert [r["vector"] for r in rows] == [[1.0, 0.0], [0.0, 1.0]]
    assert (rows[1]["start_frame"], rows[1]["end_s"], rows[1]["model"]) == (10, 2.0, "tiny/clip")


def test_clips_without_embedding_give_no_row_and_a_written_table_stays(tmp_path: Path) -> None:
    """A clip with no embedding has no row; a second ensure leaves the finished table alone."""
    layout = OutputLayout(str(tmp_path))
    _plan(layout, "w", [0])
    _record_clip(layout, "w", 0, None)
    assert ensure_table(layout, "w")
    path = tmp_path / table_key("w")
    assert pq.read_table(path).num_rows == 0
    before = path.stat().st_mtime_ns
    assert ensure_table(layout, "w")
    assert path.stat().st_mtime_ns == before
