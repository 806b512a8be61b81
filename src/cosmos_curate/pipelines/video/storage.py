"""Where the video pipelines read and write: `core.storage`, under the names this package used.

`open_storage(path, options)` is a `core.storage.DataFolder` (a local folder or a storage
URL, keys relative to it); `S3Config` is `StorageOptions` (profile and endpoint first, so
`S3Config(profile, endpoint_url)` still reads the same); `is_s3` says whether a path is an
object-store URL (`s3://`, `az://`, `gs://`) rather than a local folder. `StorageFlags` is
the one place the storage options of a pipeline command become `StorageOptions`.
"""

from __future__ import annotations

from collections.abc import Callable

import pydantic

from cosmos_curate.core.storage import DataFolder, StorageOptions, StorageURLError, is_remote
from cosmos_curate.core.utils.preflight import check_input_dir, check_new_dir

__all__ = ["S3Config", "StorageFlags", "StoragePathError", "is_s3", "open_storage"]

S3Config = StorageOptions
StoragePathError = StorageURLError


def is_s3(path: str) -> bool:
    """Whether `path` is an object-store URL (not a local folder)."""
    return is_remote(path)


def open_storage(path: str, s3: StorageOptions | None = None) -> DataFolder:
    """The folder of a local path or a storage URL, reached with `s3` (profile, endpoint)."""
    return DataFolder(path, s3 or StorageOptions())


class CheckedPaths(pydantic.BaseModel):
    """Options with an `input_path` that must exist and an `output_path` that can be made.

    Checked before anything is created (local paths; remote ones when they are opened); the
    subclass declares both fields with its own help text.
    """

    @pydantic.field_validator("input_path", check_fields=False)
    @classmethod
    def _input_exists(cls, value: str) -> str:
        return _prechecked(check_input_dir, value)

    @pydantic.field_validator("output_path", check_fields=False)
    @classmethod
    def _output_creatable(cls, value: str) -> str:
        return _prechecked(check_new_dir, value)


def _prechecked(check: Callable[[str, str], object], path: str) -> str:
    """`path` after a pre-flight check, its message as one line."""
    try:
        check(path, "")
    except ValueError as exc:
        raise ValueError(str(exc).strip()) from exc
    return path


class StorageFlags(pydantic.BaseModel):
    """The storage options every video pipeline command takes, and the records they make.

    `--s3-profile` is the profile of input and output; `--input-s3-profile-name` and
    `--output-s3-profile-name` (upstream Cosmos-Curate's names) override it for one side.
    """

    s3_profile: str | None = pydantic.Field(
        default=None, description="AWS profile for s3:// input and output (unset: boto3 default)"
    )
    input_s3_profile_name: str | None = pydantic.Field(
        default=None, description="AWS profile for the s3:// input (unset: --s3-profile)"
    )
    output_s3_profile_name: str | None = pydantic.Field(
        default=None, description="AWS profile for the s3:// output (unset: --s3-profile)"
    )
    s3_endpoint_url: str | None = pydantic.Field(
        default=None, description="S3 endpoint URL, e.g. a MinIO or other S3-compatible server"
    )

    @property
    def input_storage(self) -> StorageOptions:
        """How the input is reached."""
        return StorageOptions(self.input_s3_profile_name or self.s3_profile, self.s3_endpoint_url)

    @property
    def output_storage(self) -> StorageOptions:
        """How the output is reached."""
        return StorageOptions(self.output_s3_profile_name or self.s3_profile, self.s3_endpoint_url)
