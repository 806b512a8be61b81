"""Connecting to the Docker daemon, with one clear error when none answers."""

from __future__ import annotations

import os

import docker
import requests

from cosmos_curate.image.errors import DockerUnavailableError

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


def docker_host() -> str:
    """The daemon address the docker SDK will use (DOCKER_HOST, else the default socket)."""
    return os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST


def connect(timeout: int = 600) -> docker.DockerClient:
    """A client for the daemon at `docker_host()`, checked with a ping.

    `timeout` bounds each API call (a build's log stream keeps the call alive).
    Raises `DockerUnavailableError` when no daemon answers.
    """
    host = docker_host()
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        source = "DOCKER_HOST" if os.environ.get("DOCKER_HOST") else "the default socket"
        msg = (
            f"no Docker daemon answers at {host} ({source}): start one "
            "(`sudo systemctl start docker`, or `dockerd &`) or set DOCKER_HOST to a running "
            "daemon, e.g. DOCKER_HOST=unix:///path/to/docker.sock"
        )
        raise DockerUnavailableError(msg) from exc
    return client
