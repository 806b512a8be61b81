"""`curate view PATH [--port N] [--host H] [--open]`: review an output in the browser.

Builds the output's index, prints the URL on stdout (the first line, so a script can read
it; with `--port 0` the port picked), and serves until Ctrl-C (exit 130).
"""

from __future__ import annotations

import secrets
import time
import webbrowser
from pathlib import Path
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
"""


def view(
    path: Annotated[
        Path,
        typer.Argument(
            help="The output folder of a video-split, image-annotate, video-dedup or "
            "video-shard run.",
            show_default=False,
            metavar="PATH",
        ),
    ],
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on; 0 picks a free one.")
    ] = 8765,
    host: Annotated[
        str,
        typer.Option("--host", help="Address to bind; any other than 127.0.0.1 asks for a token."),
    ] = "127.0.0.1",
    split: Annotated[
        Path | None,
        typer.Option(
            "--split",
            help="For a dedup or shard output: the split output it came from "
            "(default: the input path its run recorded).",
            show_default=False,
        ),
    ] = None,
    open_page: Annotated[
        bool, typer.Option("--open", help="Open the page in the default browser.")
    ] = False,
) -> None:
    """Review an output (clips, captions, scores, dropped clips, failures) in a browser."""
    from cosmos_curate.view import create_app, open_output
    from cosmos_curate.view.server import bind, needs_token, serve, url_of

    sock = bind(host, port)
    try:
        started = time.monotonic()
        opened = open_output(path, split)
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
