"""Whether a file could be published at a path, asked before any work is done."""

from __future__ import annotations

import tempfile
from pathlib import Path


def check_can_publish(dest: Path) -> None:
    """Raise `OSError` when no file can be created where `dest` would be published.

    Tries a nameless temporary file in the nearest existing folder on the way to `dest`
    (missing folders would be created by the publisher); nothing is left behind. Permission
    bits alone do not tell (root passes them on read-only or virtual filesystems).
    """
    folder = Path(dest).expanduser().absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    with tempfile.TemporaryFile(dir=folder):
        pass
