"""The storage tests' fixtures (defined in `backends.py`)."""

from tests.core.storage.backends import azurite, backend_folder, moto_s3

__all__ = ["azurite", "backend_folder", "moto_s3"]
