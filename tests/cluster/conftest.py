"""Real multi-node Ray clusters on 127.0.0.1, started with `curate cluster start` and stopped
by PID with `curate cluster stop`.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest
from tests.cluster.cluster_helpers import base_env, start_cluster, stop_cluster

from cosmos_curate.cluster.state import ClusterState


@pytest.fixture(scope="session")
def token_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Ray auth token of our own (never the user's ~/.ray/auth_token)."""
    path = tmp_path_factory.mktemp("auth") / "auth_token"
    path.write_text("c0ffee" * 10 + "beef")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="session")
def token_env(token_file: Path) -> dict[str, str]:
    """Environment of a client holding the right token (RAY_AUTH_MODE left unset)."""
    return base_env(RAY_AUTH_TOKEN_PATH=str(token_file))


class _Shared:
    """The three-node cluster, kept from its first test to its last one in this run's order.

    A session fixture would keep three idle nodes polling until the whole run ends (about
    2 CPU s a minute each: minutes of a 2-core CI machine's time); the cluster lane runs its
    tests in collection order, so the cluster is stopped once the last test that uses it
    is done (and started again if a rerun needs it).
    """

    def __init__(self) -> None:
        self.failed: set[str] = set()  # tests that failed a phase: a rerun may follow
        self.state: ClusterState | None = None
        self.state_file: Path | None = None
        self.env: dict[str, str] = {}

    def stop(self) -> None:
        if self.state is not None and self.state_file is not None:
            self.state = None
            stop_cluster(self.state_file, self.env)


_shared = _Shared()


@pytest.fixture(scope="module")  # module fixtures of the tests build on it
def three_nodes(
    tmp_path_factory: pytest.TempPathFactory, token_env: dict[str, str]
) -> ClusterState:
    """Head + 2 worker nodes with token auth, shared by the tests that do not kill nodes."""
    if _shared.state is None:
        _shared.state_file = tmp_path_factory.mktemp("cluster3") / "state.json"
        _shared.env = token_env
        _shared.state = start_cluster(_shared.state_file, token_env, workers=2, auth="token")
    return _shared.state


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop the shared cluster after the last test of this run that uses it."""
    if _shared.state is None or item.nodeid in _shared.failed:
        return  # a failed test may run again: its cluster stays until the session ends
    items = item.session.items
    later = items[items.index(item) + 1 :] if item in items else []
    if not any("three_nodes" in getattr(i, "fixturenames", ()) for i in later):
        _shared.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Note the tests that failed a phase (before their teardown hook runs)."""
    report = yield
    if report.failed:
        _shared.failed.add(item.nodeid)
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop it at the end whatever happened (an interrupted run, a rerun of its last test)."""
    _shared.stop()
