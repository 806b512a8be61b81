"""A dedup run builds its results in a staging folder beside the last good ones, then switches.

A run writes everything (centroids, cluster shards, pruning tables, summaries, `summary.json`)
under `OUT/.dedup-staging-<run>/`. Only when it succeeded are the entries it wrote switched
in: the staging folder is made durable (one `syncfs`: its files were written without
fsync), each previous entry of the same name is renamed aside into `OUT/.dedup-previous-<run>/`,
the new ones are renamed in, the folder is fsynced, and only then is the aside removed. A run
that fails or is interrupted leaves the previous results as they were; its staging folder is
removed when it fails, or by the next run when it was killed (`recover`), which also finishes
or undoes a switch a crash cut short. Nothing else in `OUT` is touched.

S3 has no rename: the new objects are written under the staging prefix and copied over the
previous ones at the end, then stale keys of the replaced entries and the staging prefix are
deleted. A failed run never touches the previous results; a reader during the final copy (or
after a crash in it) can see a mix of old and new tables, and the next run clears the staging
prefix.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from cosmos_curate.core.storage import StorageOptions, fsync_dir, publish_json, sync_tree
from cosmos_curate.pipelines.video.dedup import storage
from cosmos_curate.pipelines.video.storage import is_s3

STAGING_PREFIX = ".dedup-staging-"
ASIDE_PREFIX = ".dedup-previous-"
MANIFEST = ".entries.json"
"""In the aside folder: the names being switched, written before anything moves."""


def staging_path(output_path: str, run_id: str) -> str:
    """Where run `run_id` builds its results (inside `output_path`, so renames stay local)."""
    return storage.join(output_path, STAGING_PREFIX + run_id)


def publish(output_path: str, staged: str, outputs: StorageOptions) -> None:
    """Switch the entries under `staged` in for those of the same name under `output_path`.

    `outputs`: the storage options of the results (here and below, for object stores).
    """
    if is_s3(output_path):
        _publish_s3(output_path, staged, outputs)
    else:
        _publish_local(Path(output_path).expanduser(), Path(staged).expanduser())


def discard(staged: str, outputs: StorageOptions) -> None:
    """Remove a failed run's staging folder (only ever one this module named)."""
    storage.delete_tree(staged, outputs)


def recover(output_path: str, outputs: StorageOptions) -> None:
    """Finish or undo a switch a crash cut short; remove staging folders of killed runs."""
    if is_s3(output_path):
        for name in _s3_top_level(output_path, outputs):
            if name.startswith(STAGING_PREFIX):
                storage.delete_tree(storage.join(output_path, name), outputs)
        return
    out = Path(output_path).expanduser()
    if not out.is_dir():
        return
    for staged in sorted(out.glob(STAGING_PREFIX + "*")):
        aside = out / (ASIDE_PREFIX + staged.name.removeprefix(STAGING_PREFIX))
        if aside.is_dir():
            _settle(out, staged, aside)
        shutil.rmtree(staged)
    for aside in sorted(out.glob(ASIDE_PREFIX + "*")):  # the switch finished, staging is gone
        shutil.rmtree(aside)
    fsync_dir(out)


def _publish_local(out: Path, staged: Path) -> None:
    sync_tree(staged)  # its files were written without fsync (`storage.write_staged`)
    names = sorted(p.name for p in staged.iterdir())
    aside = out / (ASIDE_PREFIX + staged.name.removeprefix(STAGING_PREFIX))
    aside.mkdir()
    publish_json(aside / MANIFEST, names)
    for name in names:
        if (out / name).exists():
            os.replace(out / name, aside / name)
    fsync_dir(aside)
    fsync_dir(out)
    for name in names:
        os.replace(staged / name, out / name)
    fsync_dir(staged)
    fsync_dir(out)
    shutil.rmtree(aside)
    staged.rmdir()
    fsync_dir(out)


def _settle(out: Path, staged: Path, aside: Path) -> None:
    """A switch was cut short: finished when nothing is left to move in, else undone."""
    left = {p.name for p in staged.iterdir()}
    if left:
        manifest = aside / MANIFEST
        names = json.loads(manifest.read_text()) if manifest.is_file() else []
        for name in names:
            if name not in left and (out / name).exists():  # moved in: take it back out
                os.replace(out / name, staged / name)
        for entry in aside.iterdir():
            if entry.name != MANIFEST:
                os.replace(entry, out / entry.name)
        fsync_dir(out)
    shutil.rmtree(aside)


def _s3_top_level(prefix: str, outputs: StorageOptions) -> set[str]:
    return {rel.split("/", 1)[0] for rel, _ in storage.list_files(prefix, outputs)}


def _publish_s3(output_path: str, staged: str, outputs: StorageOptions) -> None:
    new = {rel for rel, _ in storage.list_files(staged, outputs)}
    for rel in sorted(new):
        storage.copy_s3(storage.join(staged, rel), storage.join(output_path, rel), outputs)
    for entry in sorted({rel.split("/", 1)[0] for rel in new}):
        target = storage.join(output_path, entry)
        for rel, _ in storage.list_files(target, outputs):
            if f"{entry}/{rel}" not in new:  # a key of the previous run this one did not make
                storage.delete_file(storage.join(target, rel), outputs)
    storage.delete_tree(staged, outputs)
