"""`curate image build --envs a,b` and `curate image list`."""

from __future__ import annotations

from typing import Annotated

import typer

from cosmos_curate.cli.common import err, out
from cosmos_curate.image import build as image_build
from cosmos_curate.image.daemon import connect
from cosmos_curate.image.envs import parse_env_list
from cosmos_curate.image.errors import ImageError
from cosmos_curate.image.network import check_network
from cosmos_curate.image.reference import check_name, check_tag
from cosmos_curate.image.render import DEFAULT_BASE_IMAGE, RenderOptions
from cosmos_curate.presentation.format import format_bytes

EXAMPLES = """\
Examples:
  curate image build --envs transformers,video
  curate image build --envs transformers --dry-run > Dockerfile
  curate image build --envs video --image-name registry.example.com/curate --image-tag v1 --push
  curate image list
"""

app = typer.Typer(help="Build and list the multi-env Docker image.", no_args_is_help=True)


def _write_log(line: str) -> None:
    err.file.write(line)
    err.file.flush()


@app.command("build", epilog=EXAMPLES)
def build(
    *,
    envs: Annotated[
        str,
        typer.Option("--envs", help="Comma-separated envs from envs/ (`default` is always in)."),
    ] = "",
    image_name: Annotated[str, typer.Option("--image-name", help="Image repository name.")] = (
        image_build.DEFAULT_IMAGE_NAME
    ),
    image_tag: Annotated[str, typer.Option("--image-tag", help="Image tag.")] = (
        image_build.DEFAULT_IMAGE_TAG
    ),
    base_image: Annotated[
        str, typer.Option("--base-image", help="Base image (CUDA + OS).")
    ] = DEFAULT_BASE_IMAGE,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the rendered Dockerfile; build nothing.")
    ] = False,
    push: Annotated[bool, typer.Option("--push", help="Push name:tag after the build.")] = False,
    network: Annotated[
        str | None,
        typer.Option(
            "--network",
            help="Network of the build's RUN steps: default, bridge, host, none, container:NAME "
            "or a Docker network's name.",
        ),
    ] = None,
    buildkit: Annotated[
        bool,
        typer.Option(
            "--buildkit",
            help="With --dry-run: render BuildKit cache mounts (for `docker buildx build`).",
        ),
    ] = False,
) -> None:
    """Render Dockerfile.j2 with the chosen envs and build one image holding all of them."""
    if buildkit and not dry_run:
        msg = (
            "--buildkit only applies to --dry-run: the docker SDK builds with the legacy builder; "
            "run `curate image build --dry-run --buildkit | docker buildx build -f - .` instead"
        )
        raise ImageError(msg)
    if network is not None:
        check_network(network)
    if not dry_run:
        check_name(image_name)
        check_tag(image_tag)
    options = RenderOptions(base_image=base_image, buildkit=buildkit)
    image = image_build.plan_image(parse_env_list(envs), options=options)
    stats = image.stats
    summary = (
        f"envs: {', '.join(image.envs)}; {stats.instructions} instructions, "
        f"{stats.filesystem_layers} filesystem layers"
    )
    if dry_run:
        out.file.write(image.dockerfile)
        out.file.flush()
        err.print(summary, highlight=False, soft_wrap=True)
        return
    image_build.source_checkout()
    client = connect()
    err.print(f"building {image_name}:{image_tag} ({summary})", highlight=False, soft_wrap=True)
    result = image_build.build_image(
        image,
        image_name=image_name,
        image_tag=image_tag,
        network_mode=network,
        on_log=_write_log,
        client=client,
    )
    if push:
        image_build.push_image(result.reference, on_log=_write_log, client=client)
    out.print(f"image   {result.reference}" + (" (pushed)" if push else ""), highlight=False)
    out.print(f"id      {result.image_id}", highlight=False)
    out.print(f"size    {format_bytes(result.size_bytes)}", highlight=False)
    out.print(f"envs    {', '.join(result.envs)}", highlight=False)
    out.print(f"layers  {result.filesystem_layers}", highlight=False)


@app.command("list")
def list_images() -> None:
    """List images built by `curate image build` with the envs each holds."""
    images = image_build.list_images()
    if not images:
        err.print("no images built by `curate image build` on this daemon")
        return
    # plain aligned rows (no table borders): full names at any width, easy to grep
    rows = [("IMAGE", "ID", "ENVS", "SIZE", "CREATED")]
    for info in images:
        rows.append(
            (
                ",".join(info.tags) or "<untagged>",
                info.image_id,
                ",".join(info.envs),
                format_bytes(info.size_bytes),
                info.created[:19].replace("T", " "),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        out.print(line.rstrip(), highlight=False, soft_wrap=True)
