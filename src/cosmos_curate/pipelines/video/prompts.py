"""Named caption and enhancement prompts: built-in variants, a user file, or a literal text.

A prompts file is a JSON object of `{"name": "prompt text", ...}`; its names add to (or
replace) the built-in variants. A literal prompt text wins over any variant and is recorded
under the name `custom`.
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs

from cosmos_curate.models.captioner import DEFAULT_CAPTION_PROMPT

CUSTOM_PROMPT_NAME = "custom"

CAPTION_PROMPTS: dict[str, str] = {
    "default": DEFAULT_CAPTION_PROMPT,
    "av": (
        "This video was recorded from a vehicle. Describe the road, the weather and light, "
        "the other road users and what each of them does, and how the recording vehicle moves."
    ),
    "av-surveillance": (
        "This video comes from a fixed traffic camera. Describe the scene, the vehicles and "
        "people in view, where each one goes, and any unusual event."
    ),
}

ENHANCE_PROMPTS: dict[str, str] = {
    "default": (
        "Rewrite this video description as one fluent, detailed paragraph. Keep every fact, "
        "add nothing that is not stated:"
    ),
}


class PromptError(ValueError):
    """A prompt variant is unknown or the prompts file cannot be used."""


@attrs.frozen
class Prompt:
    """A resolved prompt: the variant name (or `custom`) and its text."""

    name: str
    text: str


def load_prompts_file(path: str | Path) -> dict[str, str]:
    """The `{name: text}` prompts of a JSON file; a clear error for anything else."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        msg = f"cannot read the prompts file {path}: {exc.strerror or exc}"
        raise PromptError(msg) from exc
    except json.JSONDecodeError as exc:
        msg = f"the prompts file {path} is not JSON: {exc.msg} (line {exc.lineno})"
        raise PromptError(msg) from exc
    if not isinstance(data, dict) or not data:
        msg = f"the prompts file {path} must hold a JSON object of name -> prompt text"
        raise PromptError(msg)
    for name, text in data.items():
        if not isinstance(text, str) or not text.strip():
            msg = f"the prompts file {path}: prompt {name!r} must be a non-empty string"
            raise PromptError(msg)
    return {str(k): str(v) for k, v in data.items()}


def resolve_prompt(
    builtin: dict[str, str],
    variant: str,
    text: str | None = None,
    prompts_file: str | Path | None = None,
) -> Prompt:
    """The prompt to use: `text` if given, else `variant` from the file or the built-ins."""
    if text is not None:
        if not text.strip():
            msg = "the prompt text is empty"
            raise PromptError(msg)
        return Prompt(CUSTOM_PROMPT_NAME, text)
    known = dict(builtin)
    if prompts_file is not None:
        known.update(load_prompts_file(prompts_file))
    if variant not in known:
        msg = f"unknown prompt variant {variant!r}; known: {', '.join(sorted(known))}"
        raise PromptError(msg)
    return Prompt(variant, known[variant])
