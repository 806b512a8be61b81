"""Every S3 bucket a test module names on moto is that module's alone.

moto keeps one store per process, so the session's moto server (and any other a test starts)
shows every module's buckets to every test on the same xdist worker. Two modules using one
bucket name make a test depend on which ran first: an object one module left under
`s3://raw/videos` once became a failed input of another module's split run, whenever xdist
put the two on one worker in that order. This check reads the test modules that use moto and
fails on a bucket name (a `Bucket="..."` argument, a `BUCKET = "..."` constant or an
`s3://NAME/...` literal) that two of them use.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent
NAME_PATTERNS = (
    re.compile(r'Bucket="([a-z0-9.-]+)"'),
    re.compile(r'BUCKET\s*=\s*"([a-z0-9.-]+)"'),
    re.compile(r'"s3://([a-z0-9.-]+)[/"]'),
)


def bucket_users(root: Path) -> dict[str, set[str]]:
    """Bucket name -> the moto-using test modules under `root` that name it."""
    users: dict[str, set[str]] = defaultdict(set)
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "moto" not in text or path.name == Path(__file__).name:
            continue
        for pattern in NAME_PATTERNS:
            for name in pattern.findall(text):
                users[name].add(path.relative_to(root).as_posix())
    return users


def test_no_two_moto_test_modules_share_a_bucket_name() -> None:
    users = bucket_users(TESTS)
    assert "split-raw" in users  # the check reads what it should (names as the modules write them)
    shared = {name: sorted(paths) for name, paths in users.items() if len(paths) > 1}
    assert shared == {}, f"bucket names used by more than one module (give each its own): {shared}"
