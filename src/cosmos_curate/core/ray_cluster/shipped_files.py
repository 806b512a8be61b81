"""Which files of the driver's working folder are uploaded to a remote cluster, as one zip.

What git would track goes (`git ls-files -co --exclude-standard`: tracked files plus
untracked ones no `.gitignore` ignores); outside a git work tree, every file. Never `.git`,
virtual envs, caches or `*.pyc`. `CURATE_SHIP_INCLUDE` adds files on purpose (comma-separated globs
relative to the folder, e.g. `configs/local.yaml,data/*.json`). Common secret files
(`.env*`, `*.pem`, `*.key`, `.netrc`, `id_rsa*` and the other SSH key names, anything under
`.aws/` or `.ssh/`) never go, even when tracked or included, and neither does a symlink
that leads outside the folder.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

import attrs

from cosmos_curate.core.ray_cluster.errors import ClusterConnectionError
from cosmos_curate.core.utils import settings

INCLUDE_VAR = settings.SHIP_INCLUDE_VAR
GIT_COMMAND = ("git", "ls-files", "-co", "--exclude-standard", "-z")
SECRET_NAMES = (
    ".env*",
    "*.pem",
    "*.key",
    ".netrc",
    ".git-credentials",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
)
SECRET_DIRS = frozenset({".aws", ".ssh"})
# Folders that are never code (git may list them when no .gitignore names them).
SKIPPED_DIRS = frozenset(
    {".git", ".venv", "venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
    | {"node_modules"}
)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed: the same files give the same zip (Ray caches by hash)


@attrs.frozen
class Selection:
    """The files to ship from `root` (POSIX paths relative to it) and what was left out."""

    root: Path
    files: tuple[str, ...]
    secrets: tuple[str, ...]  # secret files, or symlinks out of `root`: never shipped
    source: str  # how the list was made, for the log line
    total_bytes: int


def is_secret(relative: str) -> bool:
    """Whether a path (relative, POSIX) is a common secret file or lies in a secret folder."""
    parts = PurePosixPath(relative).parts
    if any(part in SECRET_DIRS for part in parts[:-1]):
        return True
    return any(fnmatch.fnmatchcase(parts[-1], pattern) for pattern in SECRET_NAMES)


def select(root: Path, include: Sequence[str] = ()) -> Selection:
    """What to ship from `root`: git's list (or every file), plus `include`, less secrets."""
    root = root.resolve()
    listed = git_files(root)
    source = "git ls-files -co --exclude-standard"
    if listed is None:
        listed = walked_files(root)
        source = "every file: not a git work tree"
    extra = included_files(root, include)
    if extra:
        source += f" + {INCLUDE_VAR}"
    files, secrets, total = [], [], 0
    for relative in sorted(set(listed) | set(extra)):
        path = root / relative
        if not path.is_file() or _skipped(relative):  # deleted but still tracked, a submodule
            continue
        target = path.resolve()  # a symlink counts where it leads
        inside = target.is_relative_to(root)
        if not inside or is_secret(relative) or is_secret(target.relative_to(root).as_posix()):
            secrets.append(relative)
            continue
        files.append(relative)
        total += path.stat().st_size
    return Selection(root, tuple(files), tuple(secrets), source, total)


def _skipped(relative: str) -> bool:
    parts = PurePosixPath(relative).parts
    return relative.endswith(".pyc") or any(part in SKIPPED_DIRS for part in parts[:-1])


def git_files(root: Path) -> list[str] | None:
    """`git ls-files -co --exclude-standard` under `root`; None outside a git work tree."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *GIT_COMMAND[1:]],
            capture_output=True,
            check=True,
            timeout=120,
        )
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None
    return [name for name in done.stdout.decode("utf-8", "surrogateescape").split("\0") if name]


def walked_files(root: Path) -> list[str]:
    """Every file under `root`, not descending into `SKIPPED_DIRS`."""
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        base = Path(folder).relative_to(root)
        found += [(base / name).as_posix() for name in names]
    return found


def included_files(root: Path, patterns: Iterable[str]) -> list[str]:
    """Files the include globs name (a folder brings its files); each must match something."""
    found: list[str] = []
    for pattern in (p.strip() for p in patterns):
        if not pattern:
            continue
        if Path(pattern).is_absolute() or ".." in PurePosixPath(pattern).parts:
            msg = f"{INCLUDE_VAR}: {pattern!r} must be a path or glob inside {root}"
            raise ClusterConnectionError(msg)
        matched = [m for m in sorted(root.glob(pattern)) if m.resolve().is_relative_to(root)]
        if not matched:
            msg = f"{INCLUDE_VAR}: {pattern!r} matches nothing under {root}"
            raise ClusterConnectionError(msg)
        for match in matched:
            paths = sorted(match.rglob("*")) if match.is_dir() else [match]
            found += [p.relative_to(root).as_posix() for p in paths if p.is_file()]
    return found


def include_patterns() -> list[str]:
    """The globs in `CURATE_SHIP_INCLUDE` (comma-separated; none when unset)."""
    return settings.ship_include()


def write_zip(selection: Selection, destination: Path) -> Path:
    """The selected files as a zip at `destination`: same files, same bytes (fixed times)."""
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in selection.files:
            path = selection.root / relative
            info = zipfile.ZipInfo(relative, date_time=_ZIP_TIME)
            info.external_attr = (0o100000 | (path.stat().st_mode & 0o777)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return destination


__all__ = [
    "INCLUDE_VAR",
    "SECRET_DIRS",
    "SECRET_NAMES",
    "Selection",
    "include_patterns",
    "is_secret",
    "select",
    "write_zip",
]
