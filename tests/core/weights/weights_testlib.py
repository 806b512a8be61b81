"""Constants and helpers shared by the model weights tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

# The pin of `gpt2` in the shipped configs/all_models.json: the fake hub serves that commit.
GPT2_ID = "openai-community/gpt2"
GPT2_SHA = "607a30d783dfa663caf39e06633721c8d4cfcd7e"
NEWER_SHA = "1" * 40
TOKEN = "hf_secretTESTtoken1234567890"


def write_registry(path: Path, entries: dict[str, object]) -> Path:
    """Write a registry JSON file and return its path."""
    path.write_text(json.dumps(entries, indent=2), encoding="utf-8")
    return path


def subprocess_env(**extra: str) -> dict[str, str]:
    """The current environment (already pointed at fakes by fixtures) plus `extra`."""
    env = dict(os.environ)
    env.update(extra)
    env["HF_HUB_DISABLE_PROGRESS_BARS"] = env.get("HF_HUB_DISABLE_PROGRESS_BARS", "0")
    return env
