"""`curate image build` and `curate image list` as library calls over the docker SDK.

`plan_image` validates env names and renders the Dockerfile (no daemon needed; its LABEL
names the envs, so `list_images` can show them); `build_image` sends it with the project
files to the daemon, streaming the build log to a callback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
import docker
import requests

from cosmos_curate.core.utils import settings
from cosmos_curate.image.context import build_context
from cosmos_curate.image.daemon import connect
from cosmos_curate.image.envs import select_envs
from cosmos_curate.image.errors import (
    BuildFailedError,
    DockerUnavailableError,
    NoSourceCheckoutError,
    PushFailedError,
)
from cosmos_curate.image.network import check_network
from cosmos_curate.image.reference import check_name, check_tag
from cosmos_curate.image.render import (
    BUILT_BY,
    LABEL_BUILT_BY,
    LABEL_ENVS,
    RenderedImage,
    RenderOptions,
    render_dockerfile,
)

DEFAULT_IMAGE_NAME = "cosmos-curate"
DEFAULT_IMAGE_TAG = "latest"

LogSink = Callable[[str], None]


@attrs.frozen
class BuildResult:
    """A built image: id, `name:tag`, size in bytes, the envs it holds, its layer count."""

    image_id: str
    reference: str
    size_bytes: int
    envs: tuple[str, ...]
    filesystem_layers: int


@attrs.frozen
class ImageInfo:
    """An image built by `curate image build`, as `curate image list` shows it."""

    image_id: str
    tags: tuple[str, ...]
    envs: tuple[str, ...]
    size_bytes: int
    created: str


def plan_image(
    env_names: Iterable[str],
    *,
    options: RenderOptions | None = None,
    repo_root: Path | None = None,
    envs_dir: Path | None = None,
) -> RenderedImage:
    """Validate the env names and render the Dockerfile; no Docker daemon is involved."""
    root = repo_root or settings.repo_root()
    recipes = select_envs(env_names, envs_dir or root / "envs")
    return render_dockerfile(recipes, root, options)


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _stream(chunks: Iterator[dict[str, Any]], on_log: LogSink) -> str:
    """Forward the daemon's build messages to `on_log`; return the built image id."""
    image_id = ""
    step = ""
    for chunk in chunks:
        if "error" in chunk:
            where = f" at {_one_line(step, 160)}" if step else ""
            msg = f"docker build failed{where}: {_one_line(str(chunk['error']))}"
            raise BuildFailedError(msg)
        text = chunk.get("stream") or chunk.get("status")
        if text:
            if text.startswith("Step "):
                step = text.strip()
            on_log(text if text.endswith("\n") else text + "\n")
        aux = chunk.get("aux")
        if isinstance(aux, dict) and aux.get("ID"):
            image_id = str(aux["ID"])
    if not image_id:
        msg = "docker build ended without an image id; see the build log above"
        raise BuildFailedError(msg)
    return image_id


def source_checkout(repo_root: Path | None = None) -> Path:
    """The checkout an image build copies the code from; a wheel install has none."""
    root = repo_root or settings.repo_root()
    if not settings.is_source_checkout(root):
        msg = (
            f"{root} is not a source checkout of cosmos-curate, and the image installs the code "
            "from one; clone the project and set CURATE_REPO_ROOT to it (--dry-run works without)"
        )
        raise NoSourceCheckoutError(msg)
    return root


def build_image(
    image: RenderedImage,
    *,
    image_name: str = DEFAULT_IMAGE_NAME,
    image_tag: str = DEFAULT_IMAGE_TAG,
    network_mode: str | None = None,
    on_log: LogSink = lambda _line: None,
    repo_root: Path | None = None,
    client: docker.DockerClient | None = None,
) -> BuildResult:
    """Build `image` as `image_name:image_tag`, streaming the log line by line to `on_log`.

    `network_mode` is the network of the build's RUN steps (e.g. "host"). Raises
    `DockerUnavailableError` without a daemon and `BuildFailedError` naming the failing step.
    """
    reference = f"{check_name(image_name)}:{check_tag(image_tag)}"
    if network_mode is not None:
        check_network(network_mode)
    root = source_checkout(repo_root)
    client = client or connect()
    context = build_context(root, image.dockerfile)
    try:
        chunks = client.api.build(
            fileobj=context,
            custom_context=True,
            tag=reference,
            rm=True,
            forcerm=True,
            network_mode=network_mode,
            decode=True,
        )
        image_id = _stream(chunks, on_log)
        built = client.images.get(image_id)
    except requests.exceptions.ConnectionError as exc:
        msg = f"lost the Docker daemon during the build: {_one_line(str(exc))}"
        raise DockerUnavailableError(msg) from exc
    except docker.errors.APIError as exc:
        msg = f"docker build failed: {_one_line(str(exc.explanation or exc))}"
        raise BuildFailedError(msg) from exc
    return BuildResult(
        image_id=image_id,
        reference=reference,
        size_bytes=int(built.attrs.get("Size", 0)),
        envs=image.envs,
        filesystem_layers=len(built.attrs.get("RootFS", {}).get("Layers", [])),
    )


def push_image(
    reference: str,
    *,
    on_log: LogSink = lambda _line: None,
    client: docker.DockerClient | None = None,
) -> None:
    """Push `name:tag` to its registry (credentials from `docker login`)."""
    client = client or connect()
    repository, _, tag = reference.rpartition(":")
    try:
        for chunk in client.api.push(repository, tag=tag, stream=True, decode=True):
            if "error" in chunk:
                msg = f"push of {reference} failed: {_one_line(str(chunk['error']))}"
                raise PushFailedError(msg)
            if chunk.get("status") and not chunk.get("progressDetail"):
                ident = f"{chunk['id']}: " if chunk.get("id") else ""
                on_log(f"{ident}{chunk['status']}\n")
    except docker.errors.APIError as exc:
        msg = f"push of {reference} failed: {_one_line(str(exc.explanation or exc))}"
        raise PushFailedError(msg) from exc


def list_images(client: docker.DockerClient | None = None) -> list[ImageInfo]:
    """Images built by `curate image build`, newest first, with their envs from labels."""
    client = client or connect()
    infos = []
    for img in client.images.list(filters={"label": f"{LABEL_BUILT_BY}={BUILT_BY}"}):
        labels = img.labels or {}
        envs = tuple(e for e in labels.get(LABEL_ENVS, "").split(",") if e)
        infos.append(
            ImageInfo(
                image_id=img.short_id.removeprefix("sha256:"),
                tags=tuple(img.tags),
                envs=envs,
                size_bytes=int(img.attrs.get("Size", 0)),
                created=str(img.attrs.get("Created", "")),
            )
        )
    return sorted(infos, key=lambda i: i.created, reverse=True)
