"""docs/report-screenshot.png: the README's hello-world run, its report.html drawn by Chromium.

Runs the tour's `curate pipeline run hello-world ...` line exactly as the README writes it
(read from README.md, with bash, in a scratch folder whose runs folder holds only this run;
the weights are the ones `bash scripts/quickstart.sh` downloaded), then saves headless
Chromium's drawing of the run's report.html.

    python scripts/report_screenshot.py [--out docs/report-screenshot.png]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' README reader and Chromium driver

from tests.docs.test_readme_tour import README, tour_commands  # noqa: E402
from tests.report.browser import screenshot  # noqa: E402

HELLO = "curate pipeline run hello-world"
SIZE = "1300,2600"
"""Window (and picture) size: the header, warnings and the first charts."""


def readme_command() -> str:
    """The README tour's hello-world command line, as written."""
    found = [line for words, line, _ in tour_commands(README.read_text(encoding="utf-8"))
             if words.startswith(HELLO)]  # fmt: skip
    if len(found) != 1:
        msg = f"README.md's tour has {len(found)} '{HELLO}' commands, expected one"
        raise SystemExit(msg)
    return found[0].strip()


def run_hello(work: Path) -> Path:
    """Run the README's command in `work` with its own runs folder: the run's report.html."""
    command = readme_command()
    env = {**os.environ, "CURATE_RUNS_DIR": str(work / "runs")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    print(f"$ {command}", flush=True)
    subprocess.run(["bash", "-c", command], cwd=work, env=env, check=True, timeout=900)
    reports = sorted((work / "runs").glob("*/report.html"))
    if len(reports) != 1:
        msg = f"expected one report.html under {work / 'runs'}, found {len(reports)}"
        raise SystemExit(msg)
    return reports[0]


def main() -> None:
    """Run hello-world as the README says and save the picture of its report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report-screenshot.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        report = run_hello(work)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        screenshot(report, args.out.resolve(), work / "profile", SIZE)
    print(args.out)


if __name__ == "__main__":
    main()
