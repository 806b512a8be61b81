"""The local weights store: completion manifests, status checks, staging and atomic publishing.

A model's folder (`get_local_dir_for_weights_name(model_id)`) is complete when it holds the
manifest `.curate-complete.json`, written last, whose model id, revision and filelist match the
registry entry and whose files are all there with their recorded sizes (and, when asked, their
sha256). The manifest also says whether every file was checked against a checksum its source
published (`verified`, and `verified_against` saying which); manifests written before that
field existed read as unverified. Downloads happen in `<weights root>/.curate-staging/<model id>/`
and the finished folder is renamed into place, so a failed download never leaves a folder that
looks complete.
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import hashlib
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import attrs

from cosmos_curate.core.storage import fsync_dir, publish_staged, publish_text
from cosmos_curate.core.utils import settings
from cosmos_curate.core.utils.model_utils import get_local_dir_for_weights_name
from cosmos_curate.core.weights.registry import ModelEntry

MANIFEST_NAME = ".curate-complete.json"
STAGING_DIR_NAME = ".curate-staging"
_HASH_BLOCK = 8 * 1024 * 1024


class WeightsState(enum.Enum):
    """What is on disk for one model."""

    COMPLETE = "complete"
    MISSING = "missing"
    PARTIAL = "partial download (resumable)"
    UNVERIFIED = "unverified (no manifest)"
    INCOMPLETE = "incomplete"


@attrs.frozen
class FileRecord:
    """One file of a complete folder: its size and sha256."""

    size: int
    sha256: str


@attrs.frozen
class Manifest:
    """What a finished download wrote: the source, the revision and every file.

    `verified` is True only when every file matched a checksum its source published for the
    pinned revision; `verified_against` then says which (hub revision, S3 manifest).
    """

    model_id: str
    revision: str
    source: str
    filelist: list[str] | None
    files: dict[str, FileRecord]
    verified: bool = False
    verified_against: str = ""

    @property
    def total_size(self) -> int:
        """Bytes of all the model's files."""
        return sum(f.size for f in self.files.values())


@attrs.frozen
class WeightsStatus:
    """The state of one model's folder, with a reason when it is not complete."""

    state: WeightsState
    folder: Path
    reason: str = ""
    manifest: Manifest | None = None


def hash_file(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    return _digests(path)[0]


def _digests(path: Path) -> tuple[str, str]:
    """Hex sha256 and git blob sha1 (the hub's id of a non-LFS file) in one read."""
    sha256 = hashlib.sha256()
    git = hashlib.sha1(f"blob {path.stat().st_size}\0".encode(), usedforsecurity=False)
    with path.open("rb") as f:
        while block := f.read(_HASH_BLOCK):
            sha256.update(block)
            git.update(block)
    return sha256.hexdigest(), git.hexdigest()


def staging_root(model_id: str) -> Path:
    """Per-model scratch folder: `files/` (becomes the model folder) and `partial/` (transfers)."""
    get_local_dir_for_weights_name(model_id)  # validates the id
    return settings.weights_root().joinpath(STAGING_DIR_NAME, *model_id.split("/"))


def partial_path(model_id: str, filename: str) -> Path:
    """Where an interrupted transfer of `filename` keeps its bytes until it resumes."""
    return staging_root(model_id) / "partial" / filename


def staged_folder(model_id: str) -> Path:
    """The folder that becomes the model folder once every file is in it."""
    return staging_root(model_id) / "files"


def staged_path(model_id: str, filename: str) -> Path:
    """Where a fully transferred and verified file waits until the whole model is done."""
    return staged_folder(model_id) / filename


def _manifest_to_json(manifest: Manifest) -> str:
    body = {
        "model_id": manifest.model_id,
        "revision": manifest.revision,
        "source": manifest.source,
        "filelist": manifest.filelist,
        "files": {k: {"size": v.size, "sha256": v.sha256} for k, v in manifest.files.items()},
        "verified": manifest.verified,
        "verified_against": manifest.verified_against,
    }
    return json.dumps(body, indent=2, sort_keys=True)


def parse_manifest(text: str) -> Manifest | None:
    """A manifest from its JSON text, or None when it is not a valid manifest."""
    try:
        raw = json.loads(text)
        files = {k: FileRecord(int(v["size"]), str(v["sha256"])) for k, v in raw["files"].items()}
        filelist = raw["filelist"]
        return Manifest(
            model_id=str(raw["model_id"]),
            revision=str(raw["revision"]),
            source=str(raw["source"]),
            filelist=[str(f) for f in filelist] if filelist is not None else None,
            files=files,
            verified=raw.get("verified") is True,
            verified_against=str(raw.get("verified_against") or ""),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def read_manifest(folder: Path) -> Manifest | None:
    """The manifest of a model folder, or None when absent or unreadable."""
    try:
        return parse_manifest((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except OSError:
        return None


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Publish the manifest durably (all of it or nothing, see `cosmos_curate.core.storage`)."""
    publish_text(folder / MANIFEST_NAME, _manifest_to_json(manifest))


def _any_file(folder: Path) -> bool:
    return folder.is_dir() and any(p.is_file() for p in folder.rglob("*"))


def weights_status(entry: ModelEntry, *, deep: bool = False) -> WeightsStatus:
    """Check one model's folder against its entry; `deep` also re-hashes every file."""
    folder = get_local_dir_for_weights_name(entry.model_id)
    manifest = read_manifest(folder)
    if manifest is None:
        if _any_file(folder):
            return WeightsStatus(WeightsState.UNVERIFIED, folder, "files present but no manifest")
        if _any_file(staging_root(entry.model_id)):
            return WeightsStatus(WeightsState.PARTIAL, folder, "an earlier download stopped")
        return WeightsStatus(WeightsState.MISSING, folder)
    problem = _manifest_problem(entry, manifest) or files_problem(folder, manifest, deep=deep)
    if problem:
        return WeightsStatus(WeightsState.INCOMPLETE, folder, problem, manifest)
    return WeightsStatus(WeightsState.COMPLETE, folder, manifest=manifest)


def _manifest_problem(entry: ModelEntry, manifest: Manifest) -> str:
    if manifest.model_id != entry.model_id:
        return f"folder holds {manifest.model_id}, not {entry.model_id}"
    if manifest.revision != entry.version:
        return f"folder holds revision {manifest.revision[:12]}, registry pins {entry.version[:12]}"
    if manifest.filelist != entry.filelist:
        return "registry filelist changed since the download"
    return ""


def files_problem(folder: Path, manifest: Manifest, *, deep: bool) -> str:
    """The first file of the manifest that is missing, of another size or (`deep`) corrupt."""
    for name, record in manifest.files.items():
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != record.size:
            return f"{name} has {path.stat().st_size} bytes, expected {record.size}"
        if deep and hash_file(path) != record.sha256:
            return f"{name} is corrupt (sha256 mismatch)"
    return ""


def publish(model_id: str, manifest: Manifest) -> Path:
    """Write the manifest into the staged folder and move it into place atomically.

    An existing folder (incomplete, or replaced by `--force`) is first renamed aside and deleted
    after the new one is in place. Returns the model folder.
    """
    root = staging_root(model_id)
    staged = root / "files"
    write_manifest(staged, manifest)
    final = get_local_dir_for_weights_name(model_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    trash: Path | None = None
    if final.exists():
        trash = root.parent / f".{root.name}.old-{uuid.uuid4().hex[:8]}"
        final.rename(trash)
    staged.rename(final)
    fsync_dir(final.parent)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    return final


def clear_staging(model_id: str) -> None:
    """Forget any earlier partial download of `model_id` (`--force`)."""
    shutil.rmtree(staging_root(model_id), ignore_errors=True)


@contextlib.contextmanager
def model_lock(model_id: str) -> Iterator[None]:
    """Hold an exclusive lock on one model's downloads (several processes or nodes may try)."""
    root = staging_root(model_id)
    root.parent.mkdir(parents=True, exist_ok=True)
    lock_file = root.parent / f".{root.name}.lock"
    with lock_file.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def open_partial(path: Path, expected_size: int | None) -> BinaryIO:
    """Open a transfer's partial file for appending; drop it when it is longer than expected."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if expected_size is not None and path.exists() and path.stat().st_size > expected_size:
        path.unlink()
    return path.open("ab")


def finish_file(
    partial: Path,
    staged: Path,
    *,
    size: int,
    sha256: str | None = None,
    git_sha1: str | None = None,
) -> FileRecord:
    """Verify a finished transfer and move it into the staged folder.

    `sha256` / `git_sha1` are the checksums the source announced (None: unknown). Raises
    `ValueError` naming the mismatch; the partial file is deleted then, so a retry starts over.
    """
    actual_size = partial.stat().st_size
    actual_sha256, actual_git = _digests(partial)
    problem = ""
    if actual_size != size:
        problem = f"has {actual_size} bytes, expected {size}"
    elif sha256 is not None and actual_sha256 != sha256:
        problem = "sha256 mismatch"
    elif git_sha1 is not None and actual_git != git_sha1:
        problem = "git blob id mismatch"
    if problem:
        partial.unlink(missing_ok=True)
        raise ValueError(problem)
    publish_staged(partial, staged)
    return FileRecord(size=size, sha256=actual_sha256)


def reuse_staged(
    staged: Path, size: int, *, sha256: str | None = None, git_sha1: str | None = None
) -> FileRecord | None:
    """A file an interrupted run already staged, or None to fetch it.

    The staging folder is shared by every source, so the file is checked again against the
    checksums this source announces (when it announces any); a mismatch is dropped.
    """
    if not staged.is_file() or staged.stat().st_size != size:
        return None
    actual_sha256, actual_git = _digests(staged)
    if (sha256 is not None and actual_sha256 != sha256) or (
        git_sha1 is not None and actual_git != git_sha1
    ):
        staged.unlink()
        return None
    return FileRecord(size=size, sha256=actual_sha256)
