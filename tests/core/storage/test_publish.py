"""The one durable publisher: all of a file under its name, or the old file untouched."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from cosmos_curate.core.storage import (
    DataFolder,
    publish_batch,
    publish_bytes,
    publish_json,
    publish_staged,
    publishing,
    sync_tree,
    write_unsynced,
)


def test_publish_creates_folders_and_leaves_no_temp(tmp_path: Path) -> None:
    """A published file has its whole content and nothing else is left beside it."""
    dest = tmp_path / "a" / "b" / "clip.mp4"
    publish_bytes(dest, b"x" * 10_000)
    assert dest.read_bytes() == b"x" * 10_000
    assert [p.name for p in dest.parent.iterdir()] == ["clip.mp4"]


def test_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    """A writer that fails half-way leaves the last good content and no temporary file."""
    dest = tmp_path / "summary.json"
    publish_json(dest, {"version": 1})
    with pytest.raises(RuntimeError), publishing(dest, "w") as handle:
        handle.write('{"version": 2, "trunc')
        raise RuntimeError("disk full")
    assert dest.read_text(encoding="utf-8") == '{\n  "version": 1\n}'
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_concurrent_writers_never_share_a_temp_name(tmp_path: Path) -> None:
    """Eight threads publishing the same name: the result is one writer's whole content."""
    dest = tmp_path / "state.json"
    payloads = [bytes([65 + i]) * 200_000 for i in range(8)]
    errors: list[BaseException] = []

    def write(data: bytes) -> None:
        try:
            for _ in range(5):
                publish_bytes(dest, data)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert dest.read_bytes() in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_publish_staged_renames_a_finished_file(tmp_path: Path) -> None:
    """A file an encoder wrote elsewhere in the folder appears under its final name only."""
    staged = tmp_path / ".enc.part"
    staged.write_bytes(b"frames")
    publish_staged(staged, tmp_path / "clips" / "c.mp4")
    assert (tmp_path / "clips" / "c.mp4").read_bytes() == b"frames"
    assert not staged.exists()


def test_a_staging_folder_written_unsynced_then_synced_holds_whole_files(tmp_path: Path) -> None:
    """`write_unsynced` puts each file whole under its name (no temporary left, a rewrite
    replaces it); `sync_tree` then returns on the finished folder, nested folders included."""
    staged = tmp_path / ".dedup-staging-run"
    for i in range(3):
        write_unsynced(staged / "extraction" / f"cluster_{i}.parquet", bytes([i]) * 1000)
    write_unsynced(staged / "extraction" / "cluster_0.parquet", b"again")
    write_unsynced(staged / "summary.json", b"{}")
    sync_tree(staged)
    files = sorted(str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file())
    assert files == [
        "extraction/cluster_0.parquet", "extraction/cluster_1.parquet",
        "extraction/cluster_2.parquet", "summary.json",
    ]  # fmt: skip
    assert (staged / "extraction" / "cluster_0.parquet").read_bytes() == b"again"
    assert (staged / "extraction" / "cluster_2.parquet").read_bytes() == b"\x02" * 1000


def test_a_batch_publishes_its_groups_in_order_and_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Images and embeddings, then their records: every file whole, no temporary file left,
    and no record renamed in before every file of the first group is."""
    renamed: list[str] = []
    replace = os.replace

    def recording(src: str | Path, dst: str | Path) -> None:
        renamed.append(Path(dst).parent.name)
        replace(src, dst)

    monkeypatch.setattr(os, "replace", recording)
    files = [(tmp_path / "images" / f"{i}.jpg", bytes([i]) * 5000) for i in range(5)]
    files += [(tmp_path / "embeddings" / f"{i}.npy", bytes([i]) * 10) for i in range(5)]
    records = [(tmp_path / "metas" / f"{i}.json", b"{}") for i in range(5)]
    publish_batch([files, records])
    assert renamed == ["images"] * 5 + ["embeddings"] * 5 + ["metas"] * 5
    for dest, data in files + records:
        assert dest.read_bytes() == data
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_batch_that_fails_while_writing_publishes_nothing(tmp_path: Path) -> None:
    """A file that cannot be written (its folder is a file) fails the batch before any
    rename: no name is published and no temporary file is left."""
    (tmp_path / "metas").write_text("not a folder")
    folder = DataFolder(str(tmp_path))
    with pytest.raises(OSError):
        folder.write_batch([[("images/a.jpg", b"a")], [("metas/a.json", b"{}")]])
    assert not (tmp_path / "images" / "a.jpg").exists()
    assert not list(tmp_path.rglob(".*.tmp"))
