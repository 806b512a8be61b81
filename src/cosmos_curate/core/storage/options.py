"""How to reach remote storage: the one record every reader and writer is configured by.

A pipeline holds two of them, one for its input and one for its output (upstream
Cosmos-Curate's `--input-s3-profile-name`/`--output-s3-profile-name`). The record is plain
data, pickled into Ray workers; each process makes its own filesystem from it
(`filesystems.filesystem`). Credentials never travel in it: they come from the named AWS
profile, or from the usual environment of each backend (`AWS_*`, `AZURE_STORAGE_*`,
`GOOGLE_APPLICATION_CREDENTIALS`) on the machine that opens the storage.
"""

from __future__ import annotations

from typing import Any

import attrs


def _blank_to_none(value: str | None) -> str | None:
    return value or None


@attrs.frozen
class StorageOptions:
    """Profile, endpoint and account of the remote stores a path may name; all optional.

    `s3_profile`: an AWS profile (`~/.aws/config`, `AWS_CONFIG_FILE`); `s3_endpoint_url`: an
    S3-compatible endpoint (MinIO, moto, a region endpoint); `azure_account_name`: the storage
    account of `az://` URLs (else `AZURE_STORAGE_ACCOUNT_NAME` or a connection string);
    `gcs_project`: the project of `gs://` URLs; `timeout_s`: connect timeout of S3 requests
    (reads get three times as long), unset for the backend's default.
    """

    s3_profile: str | None = attrs.field(default=None, converter=_blank_to_none)
    s3_endpoint_url: str | None = attrs.field(default=None, converter=_blank_to_none)
    azure_account_name: str | None = attrs.field(default=None, converter=_blank_to_none)
    gcs_project: str | None = attrs.field(default=None, converter=_blank_to_none)
    timeout_s: float | None = None

    def fs_kwargs(self, protocol: str) -> dict[str, Any]:
        """The keyword arguments of the fsspec filesystem of `protocol` (`s3`, `abfs`, `gcs`)."""
        if protocol == "s3":
            kwargs: dict[str, Any] = {}
            if self.s3_profile:
                kwargs["profile"] = self.s3_profile
            if self.s3_endpoint_url:
                kwargs["endpoint_url"] = self.s3_endpoint_url
            if self.timeout_s is not None:
                kwargs["config_kwargs"] = {
                    "connect_timeout": self.timeout_s,
                    "read_timeout": self.timeout_s * 3,
                    "retries": {"max_attempts": 2, "mode": "standard"},
                }
            return kwargs
        if protocol == "abfs" and self.azure_account_name:
            return {"account_name": self.azure_account_name}
        if protocol == "gcs" and self.gcs_project:
            return {"project": self.gcs_project}
        return {}
