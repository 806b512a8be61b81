"""Where model weights live on disk."""

from __future__ import annotations

from pathlib import Path

from cosmos_curate.core.utils import settings


def get_local_dir_for_weights_name(model_id: str) -> Path:
    """Local folder for a model's weights: `<weights root>/<HF model id>`.

    The root is `CURATE_WEIGHTS_DIR` or the user's cache dir. `model_id` is a Hugging Face
    id such as `openai-community/gpt2`; ids that would escape the root are rejected.
    """
    parts = model_id.split("/")
    if not model_id or any(p in ("", ".", "..") for p in parts) or "\\" in model_id:
        msg = f"invalid model id {model_id!r}: expected a Hugging Face id like 'org/name'"
        raise ValueError(msg)
    return settings.weights_root().joinpath(*parts)


def weights_present(model_id: str) -> bool:
    """Whether the weights folder for `model_id` exists and holds at least one file."""
    folder = get_local_dir_for_weights_name(model_id)
    return folder.is_dir() and any(p.is_file() for p in folder.rglob("*"))
