"""No fixture of the suite writes runs or weights into the user's own cache.

Module and session fixtures (a pipeline run shared by a module's checks, the session's Ray
cluster) are set up before the per-test `isolated_dirs`; they must still see folders inside
pytest's temporary tree, or their runs land in ~/.cache/cosmos_curate.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def module_fixture_dirs() -> dict[str, str | None]:
    """The folders a module-scoped fixture (set up before any test's own fixtures) sees."""
    return {name: os.environ.get(name) for name in ("CURATE_RUNS_DIR", "CURATE_WEIGHTS_DIR")}


def test_module_fixtures_see_temporary_runs_and_weights_folders(
    module_fixture_dirs: dict[str, str | None], tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.getbasetemp().resolve()
    for name, value in module_fixture_dirs.items():
        assert value, f"{name} is unset in a module fixture: its runs go to the user's cache"
        assert Path(value).resolve().is_relative_to(base), f"{name}={value} is outside {base}"


def test_hugging_face_home_is_the_sessions_own() -> None:
    """transformers copies remote-code modules under HF_HOME: never the user's."""
    home = os.environ.get("HF_HOME")
    assert home, "HF_HOME is unset: remote-code modules go to ~/.cache/huggingface"
    user_cache = (Path.home() / ".cache").resolve()
    assert not Path(home).resolve().is_relative_to(user_cache), home
