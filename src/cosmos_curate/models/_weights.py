"""Where a video model wrapper loads its weights from (shared by clip, aesthetics, captioner)."""

from __future__ import annotations

from pathlib import Path

from cosmos_curate.core.utils import model_utils


def weights_folder(model_id: str, weights_root: Path | None) -> Path:
    """`<weights_root>/<model id>`, or the settings' folder when no root was pinned.

    Pipelines pin the root the driver's weights check validated, so that workers load
    exactly those files even when their own environment names another root.
    """
    folder = model_utils.get_local_dir_for_weights_name(model_id)  # validates the id
    if weights_root is None:
        return folder
    return Path(weights_root).joinpath(*model_id.split("/"))
