"""Base of the model wrappers that load one Hugging Face checkpoint from the weights folder."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from cosmos_curate.core.interfaces.model_interface import ModelInterface
from cosmos_curate.core.utils import model_utils


class CheckpointModel(ModelInterface):
    """A model whose weights are the checkpoint `model_id`, run in the `env_name` conda env.

    Subclasses implement `setup()` and load from `self.weights_folder()`.
    """

    env_name: ClassVar[str] = "transformers"

    def __init__(self, model_id: str, weights_root: Path | None = None) -> None:
        self.model_id = model_id
        self.weights_root = weights_root

    @property
    def conda_env_name(self) -> str:
        """The conda env the workers of this model run in."""
        return self.env_name

    @property
    def model_id_names(self) -> list[str]:
        """The one checkpoint this model loads."""
        return [self.model_id]

    def weights_folder(self) -> Path:
        """`<weights_root>/<model id>`, or the settings' folder when no root was pinned.

        Pipelines pin the root the driver's weights check validated, so that workers load
        exactly those files even when their own environment names another root.
        """
        folder = model_utils.get_local_dir_for_weights_name(self.model_id)  # validates the id
        if self.weights_root is None:
            return folder
        return Path(self.weights_root).joinpath(*self.model_id.split("/"))

    def not_set_up(self) -> RuntimeError:
        """The error for a method used before `setup()`."""
        return RuntimeError(f"{type(self).__name__}.setup() must run before it is used")
