"""`run_pipeline`/`execute_pipeline`: what is refused before anything starts."""

from __future__ import annotations

from typing import Any

import pytest
from tests.core.runtime.test_streaming import Stamp

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline, run_pipeline


def test_an_unknown_option_is_a_type_error_naming_it() -> None:
    """A misspelt keyword is refused, as with any Python function."""
    with pytest.raises(TypeError, match="show_progres"):
        run_pipeline([], [Stamp("a")], show_progres=True)


@pytest.mark.parametrize(
    ("stages", "options", "message"),
    [
        ([], {}, "needs at least one stage"),
        ([Stamp("a")], {"resume": True}, "resume needs a checkpoint folder"),
    ],
)
def test_bad_runs_are_refused_before_ray_starts(
    stages: list[Any], options: dict[str, Any], message: str
) -> None:
    """No stage, or resume without a journal folder: one clear error, nothing started."""
    with pytest.raises(CurateError, match=message):
        execute_pipeline([], stages, **options)
