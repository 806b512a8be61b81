"""Reading a VLM's yes/no answers and the filter's and classifier's decisions (pure).

These rules are shared by every flow that filters by a prompted VLM (video-split today).
"""

from __future__ import annotations

import pickle

from cosmos_curate.pipelines.semantic.answers import (
    UNREADABLE,
    ClassifierRule,
    FilterRule,
    parse_answer,
)
from cosmos_curate.pipelines.semantic.categories import split_list
from cosmos_curate.pipelines.semantic.prompts import classifier_prompt, filter_prompt


def test_answers_are_read_from_json_broken_json_and_after_reasoning() -> None:
    """JSON, `</think>` reasoning, trailing commas and prose around the object all read."""
    assert parse_answer('{"slideshow": "yes", "fast zoom": "no"}') == {
        "slideshow": True,
        "fast_zoom": False,
    }
    reasoned = '<think>{"slideshow": "yes"} maybe</think> {"slideshow": "no"}'
    assert parse_answer(reasoned) == {"slideshow": False}
    broken = 'Sure! {"Synthetic Video": "Yes", "visual filter": "no",}'
    assert parse_answer(broken) == {"synthetic_video": True, "visual_filter": False}
    assert parse_answer("a red square moves") is None
    assert parse_answer('{"slideshow": "maybe"}') is None


def test_filter_rejects_past_the_threshold_and_unreadable_clips() -> None:
    """2 of 3 windows showing a category fail at 0.5; 1 of 3 passes; all unreadable fails."""
    rule = FilterRule(("slideshow", "fast zoom"), rejection_threshold=0.5)
    yes, no = '{"slideshow": "yes", "fast zoom": "no"}', '{"slideshow": "no", "fast zoom": "no"}'
    failed = rule.judge([yes, yes, no])
    assert not failed.passed and failed.labels == ("slideshow",)
    assert failed.reason == "shows slideshow in 2 of 3 windows (> 0.5)"
    assert rule.judge([yes, no, no]).passed
    unread = rule.judge(["???", "no idea"])
    assert not unread.passed and unread.windows[0].error == UNREADABLE
    assert rule.judge(["???", no]).passed  # one readable window decides
    assert pickle.loads(pickle.dumps(rule)) == rule  # travels to Ray workers


def test_classifier_allow_and_block_lists() -> None:
    """Allow: some window must match; block: too many matching windows fail; labels kept."""
    rule = ClassifierRule(("pets", "cooking", "cartoon"), allow=("pets",), block=("cartoon",))
    kept = rule.judge(['{"pets": "yes", "cooking": "yes"}', '{"pets": "no"}'])
    assert kept.passed and kept.labels == ("pets", "cooking")
    not_allowed = rule.judge(['{"cooking": "yes"}'])
    assert not not_allowed.passed and "allowed category (pets)" in (not_allowed.reason or "")
    blocked = rule.judge(['{"pets": "yes", "cartoon": "yes"}', '{"cartoon": "yes"}'])
    assert (
        not blocked.passed and blocked.reason == "shows blocked cartoon in 2 of 2 windows (> 0.5)"
    )
    custom = ClassifierRule(("red", "blue"), block=("red",), custom=True)
    assert custom.judge(['{"red": "no", "blue": "no"}']).labels == ("unclassified",)


def test_prompts_name_every_category_and_the_answer_shape() -> None:
    """Each category appears as a question and as a key of the JSON the model must return."""
    for prompt in (filter_prompt(["slideshow", "fast zoom"]), classifier_prompt(["pets"], "image")):
        assert '"yes" or "no"' in prompt
    assert '"fast zoom": "yes" or "no"' in filter_prompt(["slideshow", "fast zoom"])
    assert "this image" in classifier_prompt(["pets"], "image")
    assert split_list(" a, b ,,a, c ") == ["a", "b", "c"]
