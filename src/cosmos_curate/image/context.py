"""The build context: the rendered Dockerfile plus the project files the image copies.

Built as an in-memory tar instead of sending the checkout, so virtualenvs, caches and
`.git` never reach the daemon. Entries are sorted with zeroed times and owners: the same
files give the same tar, and Docker's COPY cache only misses when content changes.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

# What `COPY . <code dir>` puts in the image, relative to the repo root.
CONTEXT_PATHS = ("Dockerfile.j2", "pyproject.toml", "configs", "envs", "src")
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
_SKIP_SUFFIXES = (".pyc", ".pyo", ".egg-info")


def _files(repo_root: Path) -> Iterator[Path]:
    for name in CONTEXT_PATHS:
        path = repo_root / name
        if path.is_file():
            yield path
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(repo_root)
                if any(p in _SKIP_DIRS or p.endswith(_SKIP_SUFFIXES) for p in rel.parts):
                    continue
                if child.is_file() and not child.is_symlink():
                    yield child


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def build_context(repo_root: Path, dockerfile: str) -> io.BytesIO:
    """A tar with `Dockerfile` and the project files; rewound, ready for the daemon."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        _add(tar, "Dockerfile", dockerfile.encode(), 0o644)
        for path in _files(repo_root):
            mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            _add(tar, path.relative_to(repo_root).as_posix(), path.read_bytes(), mode)
    buffer.seek(0)
    return buffer


def context_file_names(context: io.BytesIO) -> list[str]:
    """Names in a context tar (for tests and `--dry-run` summaries); rewinds the buffer."""
    with tarfile.open(fileobj=context, mode="r") as tar:
        names = tar.getnames()
    context.seek(0)
    return names
