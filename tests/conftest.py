"""Shared fixtures: one real Ray cluster per test session, scratch folders for weights/runs.

Under xdist each worker is a session: it starts its own Ray cluster (free ports, own temp
folders); service tests run in lanes, one worker each (see tests/lanes.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tests.support import free_port

if TYPE_CHECKING:
    from tests.cluster.cluster_helpers import Loopback

# One Docker daemon and one test image per session, for the image and the launcher tests;
# the service lanes (markers, xdist groups, per-lane timings); pytester for the lanes' own test.
pytest_plugins = ("tests.image.docker_fixtures", "tests.lanes", "pytester")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
# Ray's log monitor looks for new worker log files every 0.1 s while a node has fewer than
# 1,000 of them, and keeps reading the files of every worker that ever ran: after 150 actors
# it costs 2.6 CPU s a minute, idle (1.2 with these). The suite starts ~700 workers on its
# clusters. With these it looks every 5 s (as Ray itself backs off, every 0.5 s, past 1,000
# files); a new worker's lines reach its driver up to 5 s later (a test that asserts on them
# runs its `curate` with Ray's own timing: tests/cli/test_pipeline_cli.py).
os.environ.setdefault("RAY_LOG_MONITOR_MANY_FILES_THRESHOLD", "1")
os.environ.setdefault("LOG_NAME_UPDATE_INTERVAL_S", "5")
# torch's OpenMP threads spin while they wait for work; with the suite's processes sharing 2
# cores that spinning takes CPU from the others. Passive threads sleep instead: the TransNetV2
# reference test at load 13-16 took 35 user CPU s spinning, 24 passive, in the same wall time.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


_HF_HOME = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """A Hugging Face home of the session's own, set before any test module imports
    transformers (which reads it once, at import): the remote-code modules of the tiny test
    models are copied there, not into the user's ~/.cache/huggingface/modules."""
    home = tempfile.mkdtemp(prefix="curate-tests-hf-")
    config.stash[_HF_HOME] = home
    os.environ["HF_HOME"] = home


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's Hugging Face home (made by `pytest_configure`)."""
    home = config.stash.get(_HF_HOME, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


SESSION_CPUS = 4
SESSION_GPUS = 1  # declared, not real: tests of fractional GPU packing


__all__ = ["free_port"]  # kept importable from here for tests not yet moved to tests.support


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A local Ray cluster shared by the session: 4 logical CPUs and 1 declared GPU."""
    import ray

    from cosmos_curate.core.ray_cluster.code_shipping import inherited_by_new_cluster
    from cosmos_curate.core.runtime.ray_connection import start_embedded

    metrics_port = free_port()
    code = [str(Path(__file__).parent.parent), str(Path(__file__).parent)]
    with inherited_by_new_cluster({"PYTHONPATH": os.pathsep.join(code)}):
        # Started again if its node misses Ray's fixed 30 s window on a loaded machine.
        start_embedded(
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


@pytest.fixture(scope="module")
def loopback_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loopback]:
    """One Ray node on 127.0.0.1 for a module's `curate` runs, which join it (`.env`) instead
    of each starting an embedded Ray; stopped by PID at the end. Its tests run in the
    `cluster` lane (tests/lanes.py)."""
    from tests.cluster.cluster_helpers import loopback

    with loopback(tmp_path_factory.mktemp("loopback")) as cluster:
        yield cluster


@pytest.fixture(scope="session", autouse=True)
def session_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Weights and runs folders of the session, set before any other fixture: module and
    session fixtures (shared pipeline runs, the session's Ray cluster, whose workers keep the
    environment they started with) run before `isolated_dirs`, and without these their runs
    went to the user's own cache (~/.cache/cosmos_curate/runs, ~100 MB per suite run)."""
    root = tmp_path_factory.mktemp("session-dirs")
    patch = pytest.MonkeyPatch()
    patch.setenv("CURATE_WEIGHTS_DIR", str(root / "weights"))
    patch.setenv("CURATE_RUNS_DIR", str(root / "runs"))
    yield root
    patch.undo()


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own weights and runs folders (never the user's cache)."""
    monkeypatch.setenv("CURATE_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("CURATE_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path
