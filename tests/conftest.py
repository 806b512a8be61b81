"""Shared fixtures: one real Ray cluster per test session, scratch folders for weights/runs."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

# One Docker daemon and one test image per session, for the image and the launcher tests.
pytest_plugins = ("tests.image.docker_fixtures",)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")

SESSION_CPUS = 4
SESSION_GPUS = 1  # declared, not real: tests of fractional GPU packing


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A local Ray cluster shared by the session: 4 logical CPUs and 1 declared GPU."""
    import ray

    from cosmos_curate.cluster.code_shipping import inherited_by_new_cluster

    metrics_port = free_port()
    code = [str(Path(__file__).parent.parent), str(Path(__file__).parent)]
    with inherited_by_new_cluster({"PYTHONPATH": os.pathsep.join(code)}):
        ray.init(
            address="local",
            num_cpus=SESSION_CPUS,
            num_gpus=SESSION_GPUS,
            include_dashboard=False,
            _metrics_export_port=metrics_port,
        )
    try:
        yield {"metrics_port": metrics_port, "cpus": SESSION_CPUS, "gpus": SESSION_GPUS}
    finally:
        ray.shutdown()


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own weights and runs folders (never the user's cache)."""
    monkeypatch.setenv("CURATE_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("CURATE_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path
