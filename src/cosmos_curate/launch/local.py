"""`curate local launch`: run a command in the image `curate image build` made, on this machine.

The container gets the GPUs (docker device requests), the weights folder at the image's
weights path, the working folder at its own path (also the container's working directory),
`~/.aws` read-only, the Hugging Face / AWS settings of this environment and the `--env`
variables (values passed, never printed). On Docker's bridge the metrics port is published
on 127.0.0.1 only and the embedded Ray inside binds the container's own interface
(`CURATE_BIND_HOST=auto`) so that the published port answers; it then runs with Ray token
auth (see `cosmos_curate.core.ray_cluster.bind`). With `--network host` the container shares this
machine's interfaces, so Ray stays on 127.0.0.1 there. The container is removed at the end
and its exit code is the command's.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import docker
import psutil
import requests

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.ray_cluster.bind import BIND_VAR
from cosmos_curate.core.utils import settings
from cosmos_curate.core.utils.device import host_has_gpus
from cosmos_curate.image.build import DEFAULT_IMAGE_NAME, DEFAULT_IMAGE_TAG
from cosmos_curate.image.daemon import connect
from cosmos_curate.image.reference import check_reference
from cosmos_curate.image.render import METRICS_PORT, WEIGHTS_DIR

DEFAULT_IMAGE = f"{DEFAULT_IMAGE_NAME}:{DEFAULT_IMAGE_TAG}"
CONTAINER_AWS_DIR = "/root/.aws"
LABEL_LAUNCHED_BY = "org.cosmos-curate.launched-by"
# Settings passed from this environment into the container when set. Secrets among them
# (HF_TOKEN, AWS keys) are passed by value but never printed.
FORWARDED_VARS = (
    "HF_TOKEN",
    "HF_ENDPOINT",
    "HF_HUB_OFFLINE",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
# Variables the launcher sets itself (not secrets): the only values `--dry-run` prints.
LAUNCHER_VARS = frozenset({BIND_VAR})
STOP_TIMEOUT_S = 20

Output = Callable[[bytes, bool], None]
"""Receives the container's output: (chunk, is_stderr)."""


class LaunchError(CurateError):
    """`curate local launch` could not start the container (bad option, image, daemon)."""


@attrs.frozen
class GpuRequest:
    """Which GPUs the container gets: `count` -1 for all, 0 for none, N for N."""

    count: int

    @classmethod
    def parse(cls, text: str) -> GpuRequest:
        """`all`, `none`, or a positive number; `auto` means all if this machine has any."""
        value = text.strip().lower()
        if value == "auto":
            return cls(-1 if host_has_gpus() else 0)
        if value == "all":
            return cls(-1)
        if value in ("none", "0"):
            return cls(0)
        if value.isdigit():
            return cls(int(value))
        msg = f"--gpus {text!r}: use all, none or a number of GPUs"
        raise LaunchError(msg)

    def device_requests(self) -> list[docker.types.DeviceRequest]:
        """Docker device requests for these GPUs (none for 0)."""
        if self.count == 0:
            return []
        return [docker.types.DeviceRequest(count=self.count, capabilities=[["gpu"]])]

    def describe(self) -> str:
        """How `docker run --gpus` would say it."""
        return {-1: "all", 0: "none"}.get(self.count, str(self.count))


@attrs.frozen
class LaunchSpec:
    """One `curate local launch`: image, command and how the container is wired."""

    command: tuple[str, ...]
    image: str = DEFAULT_IMAGE
    gpus: GpuRequest = GpuRequest(0)
    working_dir: Path = attrs.field(factory=Path.cwd)
    weights_dir: Path = attrs.field(factory=settings.weights_root)
    aws_dir: Path | None = attrs.field(factory=lambda: Path.home() / ".aws")
    metrics_port: int = METRICS_PORT  # on the host's 127.0.0.1; the container's is METRICS_PORT
    network: str | None = None  # docker network; "host" shares this machine's
    extra_env: tuple[str, ...] = ()  # KEY=VALUE, or KEY to pass this environment's value
    name: str = attrs.field(factory=lambda: f"curate-launch-{uuid.uuid4().hex[:10]}")

    def environment(self, source: Mapping[str, str] | None = None) -> dict[str, str]:
        """The container's environment: forwarded settings, bind host, the extra `--env`s."""
        source = os.environ if source is None else source
        env = {k: source[k] for k in FORWARDED_VARS if source.get(k)}
        if self.network != "host":
            # Docker's bridge: the container's own interface, reachable only through what
            # is published. On the host's network "auto" would be every host interface.
            env[BIND_VAR] = "auto"
        for item in self.extra_env:
            key, sep, value = item.partition("=")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                msg = f"--env {item.split('=')[0]!r}: give KEY=VALUE or KEY"
                raise LaunchError(msg)
            if sep:
                env[key] = value
            elif key in source:
                env[key] = source[key]
        return env

    def volumes(self) -> dict[str, dict[str, str]]:
        """Host folders mounted in the container (bind -> mode)."""
        mounts = {
            str(self.weights_dir): {"bind": WEIGHTS_DIR, "mode": "rw"},
            str(self.working_dir): {"bind": str(self.working_dir), "mode": "rw"},
        }
        if self.aws_dir is not None and self.aws_dir.is_dir():
            mounts[str(self.aws_dir)] = {"bind": CONTAINER_AWS_DIR, "mode": "ro"}
        return mounts

    def ports(self) -> dict[str, tuple[str, int]]:
        """Published ports: the metrics port on 127.0.0.1 only (none with host networking)."""
        if self.network == "host":
            return {}
        return {f"{METRICS_PORT}/tcp": ("127.0.0.1", self.metrics_port)}

    def create_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of `client.containers.create` (holds secrets: never print)."""
        return {
            "image": self.image,
            "command": list(self.command),
            "name": self.name,
            "environment": self.environment(),
            "volumes": self.volumes(),
            "ports": self.ports(),
            "working_dir": str(self.working_dir),
            "device_requests": self.gpus.device_requests(),
            "network_mode": self.network,
            "shm_size": shm_size_bytes(),
            "init": True,  # a real PID 1: signals reach `curate`, Ray's children are reaped
            "labels": {LABEL_LAUNCHED_BY: "curate local launch"},
            "stdin_open": False,
            "tty": False,
        }

    def docker_command(self) -> str:
        """The equivalent `docker run` line, with no secret in it.

        Every value from this environment or `--env` appears as `--env=NAME` (docker takes
        it from the shell that runs the line); only the launcher's own variables show values.
        """
        parts = ["docker", "run", "--rm", "--init", f"--name={self.name}"]
        if self.gpus.count:
            parts.append(f"--gpus={self.gpus.describe()}")
        if self.network:
            parts.append(f"--network={self.network}")
        parts.append(f"--shm-size={shm_size_bytes()}")
        for inside, (ip, port) in self.ports().items():
            parts.append(f"--publish={ip}:{port}:{inside.split('/')[0]}")
        for src, mount in self.volumes().items():
            parts.append(f"--volume={src}:{mount['bind']}:{mount['mode']}")
        parts.append(f"--workdir={self.working_dir}")
        for key, value in self.environment().items():
            shown = key in LAUNCHER_VARS and not self._user_set(key)
            parts.append(f"--env={key}={value}" if shown else f"--env={key}")
        return shlex.join([*parts, self.image, *self.command])

    def _user_set(self, key: str) -> bool:
        return any(item.partition("=")[0] == key for item in self.extra_env)


def shm_size_bytes() -> int:
    """/dev/shm of the container: 30% of this machine's memory, Ray's object store default."""
    return int(psutil.virtual_memory().total * 0.3)


def check_spec(spec: LaunchSpec) -> None:
    """Everything that can be checked before the daemon is asked (raises `LaunchError`)."""
    if not spec.command:
        msg = "no command given: curate local launch [OPTIONS] -- COMMAND..."
        raise LaunchError(msg)
    check_reference(spec.image, "--image")
    spec.environment()
    if not spec.working_dir.is_dir():
        msg = f"working folder {spec.working_dir} does not exist"
        raise LaunchError(msg)


def launch(
    spec: LaunchSpec,
    *,
    on_output: Output | None = None,
    client: docker.DockerClient | None = None,
) -> int:
    """Run `spec` to the end and return the container's exit code.

    Output is streamed to `on_output` (default: this process's stdout and stderr). Ctrl-C
    or SIGTERM (any BaseException while waiting) stops the container (SIGTERM, then SIGKILL
    after 20 s) and re-raises; the container is removed in every case.
    """
    check_spec(spec)
    client = client or connect()
    _require_image(client, spec.image)
    spec.weights_dir.mkdir(parents=True, exist_ok=True)
    container = _create(client, spec)
    try:
        stream = container.attach(stdout=True, stderr=True, stream=True, demux=True, logs=True)
        container.start()
        pump = threading.Thread(
            target=_pump, args=(stream, on_output or _write_through), daemon=True
        )
        pump.start()
        try:
            status = container.wait()
        except BaseException:
            _stop(container)
            raise
        pump.join(timeout=10)
        return int(status.get("StatusCode", 1))
    finally:
        _remove(container)


def _require_image(client: docker.DockerClient, reference: str) -> None:
    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound as exc:
        msg = (
            f"image {reference} is not on this Docker daemon: build it with "
            "`curate image build --envs ...` (or pass --image NAME:TAG)"
        )
        raise LaunchError(msg) from exc


def _create(client: docker.DockerClient, spec: LaunchSpec) -> Any:
    """Create the container, named `spec.name`.

    If Ctrl-C (or a lost connection) cuts the request short, a container the daemon made
    anyway is removed by that name before the error goes on.
    """
    try:
        return client.containers.create(**spec.create_kwargs())
    except docker.errors.APIError as exc:
        text = " ".join(str(exc.explanation or exc).split())
        if "could not select device driver" in text:
            text = (
                "the Docker daemon has no GPU support (nvidia-container-toolkit); use --gpus none"
            )
        msg = f"docker could not create the container: {text}"
        raise LaunchError(msg) from exc
    except BaseException:
        with contextlib.suppress(docker.errors.DockerException, requests.RequestException):
            client.api.remove_container(spec.name, force=True)
        raise


def _pump(stream: Iterator[tuple[bytes | None, bytes | None]], on_output: Output) -> None:
    try:
        for stdout, stderr in stream:
            if stdout:
                on_output(stdout, False)
            if stderr:
                on_output(stderr, True)
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError):
        return  # the stream ends when the container is stopped and removed


def _write_through(chunk: bytes, is_stderr: bool) -> None:
    target = sys.stderr if is_stderr else sys.stdout
    target.buffer.write(chunk)
    target.flush()


def _stop(container: Any) -> None:
    with contextlib.suppress(docker.errors.DockerException, requests.exceptions.RequestException):
        container.stop(timeout=STOP_TIMEOUT_S)


def _remove(container: Any) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        container.remove(force=True)


__all__ = [
    "DEFAULT_IMAGE",
    "GpuRequest",
    "LaunchError",
    "LaunchSpec",
    "launch",
]
