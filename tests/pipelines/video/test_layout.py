"""The output folder's "video finished" rule that reruns rely on."""

from __future__ import annotations

import pickle
from pathlib import Path

from cosmos_curate.pipelines.video.layout import OutputLayout, clip_id_for
from cosmos_curate.pipelines.video.sources import list_videos, video_id_for
from cosmos_curate.pipelines.video.storage import S3Config


def test_video_done_needs_every_chunk_and_every_clip(tmp_path: Path) -> None:
    """Done only once the record, all chunk manifests, and a record per listed clip exist."""
    layout = OutputLayout(tmp_path)
    assert not layout.video_done("v")
    layout.write_json(layout.video_record("v"), {"num_chunks": 2})
    layout.write_json(layout.chunk_manifest("v", 0), {"clip_ids": ["c1", "c2"]})
    assert not layout.video_done("v")  # chunk 1 not split yet
    layout.write_json(layout.chunk_manifest("v", 1), {"clip_ids": []})
    layout.write_json(layout.clip_meta("c1"), {})
    assert not layout.video_done("v")  # c2 missing
    layout.write_json(layout.filtered_record("c2"), {"filtered_by": "motion"})
    assert layout.video_done("v")
    assert (tmp_path / "filtered_clips" / "c2.json").is_file()


def test_s3_layout_pickles_without_its_client() -> None:
    """An S3 output travels to Ray workers: profile and endpoint kept, no S3 client."""
    layout = OutputLayout("s3://bucket/out/run", S3Config("p", "http://127.0.0.1:9"))
    assert not layout.storage.is_local
    assert layout.url(layout.clip_mp4("c")) == "s3://bucket/out/run/clips/c.mp4"
    data = pickle.dumps(layout)
    assert b"s3fs" not in data and b"botocore" not in data
    copy = pickle.loads(data)
    assert copy.storage.options == S3Config("p", "http://127.0.0.1:9")


def test_ids_are_stable_and_distinct(tmp_path: Path) -> None:
    """Same relative path -> same id; same stem in two folders -> different ids."""
    assert video_id_for("a/clip one.mp4") == video_id_for("a/clip one.mp4")
    assert video_id_for("a/x.mp4") != video_id_for("b/x.mp4")
    assert video_id_for("a/clip one.mp4").startswith("clip_one-")
    assert clip_id_for("v", 5, 20) == "v_0000005_0000020"


def test_list_videos_finds_video_extensions_recursively(tmp_path: Path) -> None:
    """mp4/mov/mkv/webm at any depth are listed sorted; other files are ignored."""
    for name in ["b.mp4", "sub/a.MOV", "sub/c.mkv", "d.webm", "notes.txt", "e.avi.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    names = [rel for _, rel in list_videos(str(tmp_path))]
    assert names == ["b.mp4", "d.webm", "sub/a.MOV", "sub/c.mkv"]
