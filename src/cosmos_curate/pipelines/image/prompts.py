"""The built-in image caption prompts (a prompts file or `--caption-prompt` add to them)."""

from __future__ import annotations

IMAGE_CAPTION_PROMPTS: dict[str, str] = {
    "default": (
        "Describe this image in detail: the scene, the objects and people in it, their "
        "colours and positions, and the lighting."
    ),
    "short": "Describe this image in one sentence.",
}
