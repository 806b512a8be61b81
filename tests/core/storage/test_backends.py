"""One test body per behaviour, run on a local folder, S3 (moto) and Azure Blob (Azurite).

What a pipeline relies on from `DataFolder`, the same on every backend: whole-file writes
that appear whole or not at all, streaming listings in key order, range reads, deletes of
named keys only, keys that cannot leave the folder, and a folder that travels to Ray
workers without its client.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

from cosmos_curate.core.storage import (
    DataFolder,
    Entry,
    StorageKeyError,
    StorageURLError,
    listing,
)


def test_write_read_exists(backend_folder: DataFolder) -> None:
    """A written file reads back whole; a missing one is `FileNotFoundError` naming its URL."""
    folder = backend_folder
    assert not folder.exists("a/b.bin")
    folder.write_bytes("a/b.bin", b"hello world")
    assert folder.exists("a/b.bin")
    assert not folder.exists("a")  # a folder is not a file
    assert folder.read_bytes("a/b.bin") == b"hello world"
    folder.write_bytes("a/b.bin", b"second")  # overwrite
    assert folder.read_bytes("a/b.bin") == b"second"
    with pytest.raises(FileNotFoundError, match=r"missing\.bin"):
        folder.read_bytes("missing.bin")
    assert folder.url_of("a/b.bin").endswith("data/a/b.bin")
    assert folder.url_of("a/b.bin").startswith(("s3://", "az://", "/"))


def test_write_batch_writes_every_file_of_every_group(backend_folder: DataFolder) -> None:
    """Many files at once (an image writer's call): each reads back whole."""
    folder = backend_folder
    files = [(f"images/{i}.jpg", bytes([i]) * 3000) for i in range(12)]
    records = [(f"metas/{i}.json", b'{"i": %d}' % i) for i in range(12)]
    folder.write_batch([files, records, []])
    assert dict(folder.read_many([k for k, _ in files + records])) == dict(files + records)


def test_open_write_publishes_only_on_success(backend_folder: DataFolder) -> None:
    """A failed writer leaves the old content (or nothing); a finished one shows all of it."""
    folder = backend_folder
    with pytest.raises(RuntimeError), folder.open_write("out.bin") as handle:
        handle.write(b"partial")
        raise RuntimeError("writer failed")
    assert not folder.exists("out.bin")
    assert list(folder.list()) == []
    with folder.open_write("out.bin") as handle:
        handle.write(b"x" * 1000)
    with pytest.raises(RuntimeError), folder.open_write("out.bin") as handle:
        handle.write(b"y")
        raise RuntimeError("writer failed")
    assert folder.read_bytes("out.bin") == b"x" * 1000


def test_list_streams_every_file_in_key_order(
    backend_folder: DataFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`list` yields (key, size) in byte order of keys, reading a page at a time as consumed.

    With pages of 7 keys, a file written after the first key was taken, beyond the first
    page, is still listed: the listing was not read up front.
    """
    monkeypatch.setattr(listing, "PAGE", 7)
    folder = backend_folder
    files = {f"many/{i:02d}.txt": b"%d" % i for i in range(30)}
    files |= {"a-b.txt": b"1", "a/b.txt": b"22", "a/c/d.txt": b"333", "z/y.txt": b""}
    for key, data in files.items():
        folder.write_bytes(key, data)
    stream = folder.list()
    assert isinstance(stream, Iterator)
    first = next(stream)
    folder.write_bytes("z/z.txt", b"late")
    entries = [first, *stream]
    files["z/z.txt"] = b"late"
    assert [e.key for e in entries] == sorted(files)
    assert all(e.size == len(files[e.key]) for e in entries)
    assert list(folder.list("a")) == [Entry("a/b.txt", 2), Entry("a/c/d.txt", 3)]
    assert list(folder.list("nothing/here")) == []
    assert folder.exists()
    # `list_keys` lists the same files in the same order, without their sizes
    assert list(folder.list_keys()) == sorted(files)
    assert list(folder.list_keys("a")) == ["a/b.txt", "a/c/d.txt"]
    assert list(folder.list_keys("nothing/here")) == []


def test_open_read_reads_ranges(backend_folder: DataFolder) -> None:
    """A read handle seeks: a range comes back without reading from the start."""
    folder = backend_folder
    folder.write_bytes("r.bin", bytes(range(256)) * 4)
    with folder.open_read("r.bin") as handle:
        handle.seek(300)
        assert handle.read(4) == bytes([44, 45, 46, 47])


def test_read_range_size_and_read_many(backend_folder: DataFolder) -> None:
    """One range of a file, its size, and many small files at once (missing ones: None)."""
    folder = backend_folder
    folder.write_bytes("r.bin", bytes(range(256)) * 4)
    assert folder.read_range("r.bin", 300, 304) == bytes([44, 45, 46, 47])
    assert folder.read_range("r.bin", 1020, 2000) == bytes([252, 253, 254, 255])
    assert (folder.size("r.bin"), folder.size("nope.bin")) == (1024, None)
    keys = [f"m/{n:04d}.json" for n in range(300)]  # more than one batch
    for key in keys[::10]:
        folder.write_bytes(key, key.encode())
    found = list(folder.read_many(keys))
    assert [k for k, _ in found] == keys
    assert all(
        data == (key.encode() if n % 10 == 0 else None) for n, (key, data) in enumerate(found)
    )
    folder.write_bytes("m/empty.json", b"")  # no byte 0 to ask a range from
    assert list(folder.read_many(["m/empty.json", "m/0000.json"])) == [
        ("m/empty.json", b""),
        ("m/0000.json", b"m/0000.json"),
    ]


def test_delete_removes_only_named_keys(backend_folder: DataFolder) -> None:
    """Deleting keys removes those and nothing else; a missing key is not an error."""
    folder = backend_folder
    for key in ("keep.txt", "x/gone.txt", "x/keep.txt"):
        folder.write_bytes(key, b"1")
    folder.delete(["x/gone.txt"])
    folder.delete(["x/never-written.txt"])
    assert [e.key for e in folder.list()] == ["keep.txt", "x/keep.txt"]


def test_put_file_copy_and_get_file(backend_folder: DataFolder, tmp_path: Path) -> None:
    """A finished local file is published and its scratch copy removed; copies and downloads."""
    folder = backend_folder
    staged = tmp_path / "data" / ".staged.part" if folder.is_local else tmp_path / "staged.part"
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_bytes(b"tar bytes")
    folder.put_file(staged, "shards/0.tar")
    assert not staged.exists()
    folder.copy("shards/0.tar", folder, "shards/copy.tar")
    assert folder.read_bytes("shards/copy.tar") == b"tar bytes"
    local = DataFolder(str(tmp_path / "elsewhere"))
    folder.copy("shards/0.tar", local, "0.tar")
    assert local.read_bytes("0.tar") == b"tar bytes"
    folder.get_file("shards/0.tar", tmp_path / "got.tar")
    assert (tmp_path / "got.tar").read_bytes() == b"tar bytes"


@pytest.mark.parametrize("key", ["../escape.txt", "/etc/passwd", "a/../../b", "nul\x00.txt",
                                 "back\\slash.txt", "a//b.txt", "./a.txt"])
def test_keys_cannot_leave_the_folder(backend_folder: DataFolder, key: str) -> None:
    """A key with `..`, an absolute path, NUL, a backslash or an empty part is refused."""
    folder = backend_folder
    for call in (
        lambda: folder.write_bytes(key, b"x"),
        lambda: folder.read_bytes(key),
        lambda: folder.exists(key),
        lambda: folder.delete([key]),
        lambda: folder.write_batch([[("ok.txt", b"x")], [(key, b"x")]]),
    ):
        with pytest.raises(StorageKeyError, match="keys must be relative paths"):
            call()
    assert list(folder.list()) == []


def test_folder_pickles_without_its_client(backend_folder: DataFolder) -> None:
    """A folder sent to a Ray worker carries its URL and options, never a live client."""
    folder = backend_folder
    folder.write_bytes("k.txt", b"v")
    _ = folder.fs  # a client exists in this process
    data = pickle.dumps(folder)
    assert b"s3fs" not in data and b"adlfs" not in data and b"aiobotocore" not in data
    copy = pickle.loads(data)
    assert copy == folder
    assert copy.read_bytes("k.txt") == b"v"


def test_check_writable(backend_folder: DataFolder) -> None:
    """An existing folder or bucket passes; a missing bucket or container fails before work."""
    folder = backend_folder
    folder.check_writable()
    if folder.is_local:
        return
    scheme, _, rest = folder.url.partition("://")
    missing = DataFolder(f"{scheme}://no-such-bucket-{rest[2:14]}/x", folder.options)
    with pytest.raises(StorageURLError, match=r"cannot use .*no-such-bucket"):
        missing.check_writable()
