"""Real multi-node Ray clusters on 127.0.0.1, started with `curate cluster start` and stopped
by PID with `curate cluster stop`.
"""

from __future__ import annotations

from collections.abc import Iterator
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


@pytest.fixture(scope="session")
def three_nodes(
    tmp_path_factory: pytest.TempPathFactory, token_env: dict[str, str]
) -> Iterator[ClusterState]:
    """Head + 2 worker nodes with token auth, shared by the tests that do not kill nodes."""
    state_file = tmp_path_factory.mktemp("cluster3") / "state.json"
    state = start_cluster(state_file, token_env, workers=2, auth="token")
    try:
        yield state
    finally:
        stop_cluster(state_file, token_env)
