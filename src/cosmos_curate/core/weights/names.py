"""The one check a file name from a registry or a remote source passes before it is a local path.

S3 listings and hub file lists come from whoever can write the bucket or serve the mirror: a
name such as `../../.bashrc` or `/etc/passwd` must never reach `Path` joins. A name is accepted
only when it is a plain relative path (`a/b.bin`): not empty, no `.`/`..`/empty parts, not
absolute, no backslash, no control character, and it resolves inside the model's folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cosmos_curate.core.storage.keys import key_problem
from cosmos_curate.core.weights.errors import UnsafeRemoteNameError


def name_problem(name: str) -> str:
    """Why `name` is not a plain relative file path ("" when it is one): `core.storage`'s check."""
    return key_problem(name)


def check_remote_names(names: Iterable[str], folder: Path, where: str) -> list[str]:
    """`names` as a list when every one is a plain path inside `folder`; else raise.

    Call it on the whole list before anything is written. `where` says who listed the names
    (an `s3://` prefix, the hub); the error names it and the first bad name.
    """
    checked = list(names)
    base = folder.resolve()
    for name in checked:
        problem = name_problem(name)
        if not problem and not (base / name).resolve().is_relative_to(base):
            problem = "resolves outside the model folder"
        if problem:
            msg = (
                f"{where} lists the file {name!r}, which {problem}; nothing was downloaded "
                "(a remote file name must be a relative path inside the model folder)"
            )
            raise UnsafeRemoteNameError(msg)
    return checked
