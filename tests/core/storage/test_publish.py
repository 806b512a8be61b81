"""The one durable publisher: all of a file under its name, or the old file untouched."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cosmos_curate.core.storage import publish_bytes, publish_json, publish_staged, publishing


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
