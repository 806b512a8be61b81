"""`python -m cosmos_curate.core.managers.model_cli download [--models a,b]`, as upstream.

The same download as `curate model download`: pinned revisions from the model registry,
resumable, complete folders skipped. Upstream's `upload` (push hub weights to S3) has no
counterpart here; it exits 2 naming the commands that do the same job.
"""

from __future__ import annotations

import argparse
import sys

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.weights import download, registry


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cosmos_curate.core.managers.model_cli",
        description="Download model weights listed in the model registry.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("download", "upload"):
        sub = commands.add_parser(name, help=f"{name} model weights")
        sub.add_argument("--models", default=None, help="comma-separated registry names")
        sub.add_argument("--model-weights-prefix", default=None, help="s3://bucket/prefix")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; return the process exit code (0 ok, 1 failed, 2 bad input)."""
    args = _parser().parse_args(argv)
    if args.command == "upload":
        print(
            "error: upload is not supported; download with `curate model download` and copy "
            "the weights folder to S3 (`aws s3 sync`)",
            file=sys.stderr,
        )
        return 2
    names = args.models.split(",") if args.models else None
    try:
        known = registry.load_registry()
        registry.select_models(known, names)
        results = download.download_models(names, s3_prefix=args.model_weights_prefix)
    except registry.ModelRegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CurateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for result in results:
        verb = "already complete" if result.skipped else "downloaded"
        print(f"{result.name}: {verb} in {result.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
