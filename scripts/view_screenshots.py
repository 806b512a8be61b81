"""Screenshots of every `curate view` page for docs/VIEWER.md, drawn by headless Chromium.

Writes the small split output the viewer's tests use (the pipeline's own writer), runs the
real `video-dedup` and `video-shard` pipelines on it (an embedded Ray starts), serves each
output with `curate view`, and saves one PNG per page under docs/view/.

    python scripts/view_screenshots.py [--out docs/view]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' output builder

from tests.report.browser import screenshot_url  # noqa: E402
from tests.view._output import Viewer, dedup_and_shard, make_output  # noqa: E402

PAGES = {  # file name -> (which output, page)
    "grid": ("split", "?q=&sort=aesthetic&order=desc"),
    "clip": ("split", "clip/kite-0001_0000000_0000060"),
    "dropped": ("split", "dropped"),
    "failures": ("split", "failures"),
    "dedup": ("dedup", "dedup?eps=0.3"),
    "shards": ("shards", "shards"),
}


def main() -> None:
    """Build the outputs, serve each, and save the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "view")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        runs = work / "runs"
        split = make_output(work, runs)
        dedup, shards = dedup_and_shard(work, split)
        tar = next(shards.rglob("*.tar")).relative_to(shards).as_posix()
        pages = {**PAGES, "tar": ("shards", f"tar/{tar}")}
        for which, path in (("split", split), ("dedup", dedup), ("shards", shards)):
            served = Viewer.start(path, runs)
            try:
                for name, (output, page) in pages.items():
                    if output == which:
                        png = args.out / f"{name}.png"
                        screenshot_url(served.base() + page, png, work / "profile", "1280,900")
                        print(png.relative_to(ROOT) if png.is_relative_to(ROOT) else png)
            finally:
                served.stop()


if __name__ == "__main__":
    main()
