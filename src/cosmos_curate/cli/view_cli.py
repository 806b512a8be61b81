"""`curate view PATH [--port N] [--host H] [--open]`: review an output in the browser.

Builds the output's index, prints the URL on stdout (the first line, so a script can read
it; with `--port 0` the port picked), and serves until Ctrl-C (exit 130).
"""

from __future__ import annotations

import secrets
import time
import webbrowser
from typing import Annotated

import typer

from cosmos_curate.cli.common import out, print_note

EXAMPLES = """
Examples:
  curate view clips/                  the output of `curate pipeline run video-split`
  curate view clips/ --port 0 --open  a free port, opened in the browser
  curate view clips/ --host 0.0.0.0   reachable from other machines (the URL has a token)
  curate view dedup/                  a video-dedup output, with the split its run read
  curate view shards/ --split clips/  a video-shard output, with the split named
  curate view s3://bucket/run/clips --s3-profile prod   an output on S3, streamed
  curate view s3://b/out --s3-endpoint-url http://127.0.0.1:9000   on MinIO or another S3
"""


def view(
    path: Annotated[
        str,
        typer.Argument(
            help="The output folder or URL (s3://, gs://, az://) of a video-split, "
            "image-annotate, video-dedup, image-dedup or video-shard run.",
            show_default=False,
            metavar="PATH",
        ),
    ],
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on; 0 picks a free one.")
    ] = 8765,
    *,
    host: Annotated[
        str,
        typer.Option("--host", help="Address to bind; any other than 127.0.0.1 asks for a token."),
    ] = "127.0.0.1",
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="For a dedup or shard output: the output it came from, a folder or URL "
            "(default: the input path its run recorded).",
            show_default=False,
        ),
    ] = None,
    open_page: Annotated[
        bool, typer.Option("--open", help="Open the page in the default browser.")
    ] = False,
    s3_profile: Annotated[
        str | None,
        typer.Option("--s3-profile", help="AWS profile for s3:// paths (unset: boto3 default)."),
    ] = None,
    s3_endpoint_url: Annotated[
        str | None,
        typer.Option(
            "--s3-endpoint-url", help="S3 endpoint URL, e.g. a MinIO or other S3-compatible server."
        ),
    ] = None,
) -> None:
    """Review an output (clips, captions, scores, dropped clips, failures) in a browser."""
    from cosmos_curate.core.storage import StorageOptions
    from cosmos_curate.view import create_app, open_output
    from cosmos_curate.view.server import bind, needs_token, serve, url_of

    sock = bind(host, port)
    try:
        started = time.monotonic()
        options = StorageOptions(s3_profile, s3_endpoint_url)
        opened = open_output(path, split, options)
        index = opened.index
        token = secrets.token_urlsafe(18) if needs_token(host) else None
        url = url_of(sock, token)
        out.print(url, soft_wrap=True, highlight=False)
        print_note(
            f"{len(index.rows)} items of {index.kind} indexed in "
            f"{time.monotonic() - started:.1f} s; Ctrl-C stops the server"
        )
        if open_page:
            webbrowser.open(url)
        serve(create_app(opened, token), sock)
    finally:
        sock.close()


view.__doc__ = f"{view.__doc__}\n{EXAMPLES}"
