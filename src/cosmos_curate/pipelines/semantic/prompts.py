"""The questions a VLM is asked about categories, with the JSON answer shape it must give."""

from __future__ import annotations

from collections.abc import Sequence


def _answer_shape(categories: Sequence[str]) -> str:
    lines = ",\n".join(f'  "{name}": "yes" or "no"' for name in categories)
    return "{\n" + lines + "\n}"


def filter_prompt(categories: Sequence[str], media: str = "video") -> str:
    """Ask whether the media shows each category (the semantic filter's question)."""
    questions = "\n".join(
        f"{i}. Does this {media} show {name}?" for i, name in enumerate(categories, start=1)
    )
    return (
        f"Look at this {media} and answer each question with yes or no.\n{questions}\n"
        f"Reply with only this JSON object:\n{_answer_shape(categories)}"
    )


def classifier_prompt(categories: Sequence[str], media: str = "video") -> str:
    """Ask which of the categories the media belongs to (the classifier's question)."""
    labels = "\n".join(f"- {name}" for name in categories)
    return (
        f"Which of these categories does this {media} belong to? It may belong to several.\n"
        f"{labels}\n"
        f"Reply with only this JSON object, yes for each category it belongs to:\n"
        f"{_answer_shape(categories)}"
    )
