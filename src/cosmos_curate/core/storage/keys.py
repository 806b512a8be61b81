"""The one check a key (a name under a storage root, a remote file name) passes before use.

Keys come from listings and manifests that whoever can write a bucket controls: a key such
as `../../.bashrc` or `/etc/passwd` must never reach a path join. A key is accepted only when
it is a plain relative POSIX path (`a/b.bin`): not empty, no `.`/`..`/empty parts, not
absolute, no backslash, no control character (NUL included).
"""

from __future__ import annotations

import unicodedata

from cosmos_curate.core.storage.errors import StorageKeyError


def key_problem(key: str) -> str:
    """Why `key` is not a plain relative path ("" when it is one)."""
    if not key:
        return "is empty"
    if any(unicodedata.category(ch) == "Cc" for ch in key):
        return "holds a control character"
    if "\\" in key:
        return "holds a backslash"
    if key.startswith("/"):
        return "is absolute"
    if any(part in ("", ".", "..") for part in key.split("/")):
        return "has an empty, '.' or '..' part"
    return ""


def check_key(key: str, where: str = "") -> str:
    """`key` itself when it is a plain relative path; else `StorageKeyError` naming it."""
    problem = key_problem(key)
    if problem:
        place = f" under {where}" if where else ""
        msg = f"key {key!r}{place} {problem}; keys must be relative paths inside their folder"
        raise StorageKeyError(msg)
    return key
