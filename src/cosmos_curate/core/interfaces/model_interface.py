"""The base class every model wrapper implements."""

from __future__ import annotations

import abc


class ModelInterface(abc.ABC):
    """A model a stage runs: which conda env it needs, which weights, and how to load them.

    The runtime reads `conda_env_name` to pick the worker's interpreter and
    `model_id_names` to check (and fetch) weights before any worker starts. `setup()` runs
    inside each worker, in that env, from the stage's `stage_setup()`.
    """

    @property
    @abc.abstractmethod
    def conda_env_name(self) -> str:
        """Name of the conda env (a folder under `envs/`) whose Python runs this model."""

    @property
    @abc.abstractmethod
    def model_id_names(self) -> list[str]:
        """Hugging Face model ids whose weights this model loads."""

    @abc.abstractmethod
    def setup(self) -> None:
        """Load weights and move the model to its device; called once per worker."""
