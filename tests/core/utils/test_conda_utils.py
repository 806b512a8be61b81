"""Upstream's conda helpers answer from CONDA_DEFAULT_ENV at both of upstream's import paths."""

from __future__ import annotations

import pytest

from cosmos_curate.core.utils import conda_utils
from cosmos_curate.core.utils.model import conda_utils as v1_0_2_conda_utils


def test_env_name_and_membership_follow_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker in the transformers env imports transformers; the driver (no env) does not."""
    monkeypatch.setenv("CONDA_DEFAULT_ENV", "transformers")
    assert conda_utils.get_conda_env_name() == "transformers"
    assert conda_utils.is_running_in_env("transformers")
    assert not conda_utils.is_running_in_env("video")
    monkeypatch.setenv("CONDA_DEFAULT_ENV", "cosmos-curate:video")
    assert v1_0_2_conda_utils.is_running_in_env("video")
    monkeypatch.delenv("CONDA_DEFAULT_ENV")
    assert v1_0_2_conda_utils.get_conda_env_name() == ""
    assert not v1_0_2_conda_utils.is_running_in_env("transformers")
