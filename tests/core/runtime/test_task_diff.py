"""Replay's compare and sampling, without Ray: what is a difference, which calls are saved."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pytest

from cosmos_curate.core.runtime.errors import StageSaveError
from cosmos_curate.core.runtime.saved_stage import EvenSampler, check_request
from cosmos_curate.core.runtime.task_diff import diff_tasks


@attrs.define
class Clip:
    """A task with a caption, a score and frames."""

    caption: str
    score: float
    frames: np.ndarray
    tags: dict[str, int] = attrs.field(factory=dict)


def _clip(**changes: Any) -> Clip:
    base = Clip("a dog", 0.5, np.zeros((2, 3), dtype=np.float32), {"n": 1})
    return attrs.evolve(base, **changes)


def test_equal_tasks_have_no_difference() -> None:
    """Same fields, equal arrays: nothing to report."""
    assert diff_tasks([_clip()], [_clip()]) == []


def test_a_changed_field_is_named_with_both_values() -> None:
    """A caption that changed names its path and shows the saved and the new value."""
    (difference,) = diff_tasks([_clip()], [_clip(caption="a cat")])
    assert difference.path == "[0].caption"
    assert str(difference) == "[0].caption: saved 'a dog', now 'a cat'"


def test_numbers_and_arrays_within_atol_are_equal() -> None:
    """0.5 vs 0.5001 and frames off by 1e-4 pass with atol 1e-3 and differ with atol 0."""
    near = _clip(score=0.5001, frames=np.full((2, 3), 1e-4, dtype=np.float32))
    assert diff_tasks([_clip()], [near], atol=1e-3) == []
    paths = {d.path for d in diff_tasks([_clip()], [near])}
    assert paths == {"[0].score", "[0].frames"}


def test_shape_count_and_type_changes_are_differences() -> None:
    """A frame array of another shape, one output fewer, a None where a number was."""
    (shape,) = diff_tasks([_clip()], [_clip(frames=np.zeros((3, 3), dtype=np.float32))])
    assert "float32[2, 3]" in shape.saved and "float32[3, 3]" in shape.new
    (count,) = diff_tasks([_clip(), _clip()], [_clip()])
    assert count.path == "(task list)" and count.saved == "2 item(s)"
    (kind,) = diff_tasks([_clip()], [_clip(score=None)])
    assert kind.path == "[0].score"
    (key,) = diff_tasks([_clip()], [_clip(tags={"n": 1, "m": 2})])
    assert key.path == "[0].tags['m']" and key.saved == "absent"


def test_even_sampler_saves_the_first_call_then_one_in_every_n() -> None:
    """Rate 0.25 saves calls 0, 4, 8; rate 1 saves every call."""
    quarter = EvenSampler(0.25)
    assert [i for i in range(12) if quarter.take()] == [0, 4, 8]
    every = EvenSampler(1.0)
    assert all(every.take() for _ in range(5))


@pytest.mark.parametrize("rate", [0.0, -0.1, 1.5, float("nan")])
def test_a_rate_outside_0_1_is_refused(rate: float) -> None:
    """The sample rate must be a share in (0, 1]."""
    with pytest.raises(StageSaveError, match="--stage-save-sample-rate"):
        check_request(["A"], ["A"], rate)


def test_an_unknown_stage_lists_the_pipeline_stages() -> None:
    """The error names the unknown stage and every valid one."""
    with pytest.raises(StageSaveError, match=r"no stage named Nope.*its stages: A, B"):
        check_request(["A", "B"], ["A", "Nope"], 1.0)
