"""What went wrong talking to an object store, in terms a caller's message can use.

Callers above `core.storage` never import a backend's exception types: they ask `classify`
whether an exception came from the store, and which kind of failure it was. s3fs turns S3's
client errors into `OSError`s whose `__cause__` is the original error; listings raise the
original botocore error. Both are classified the same. Azure Blob (adlfs) raises
azure-core's errors as they are.
"""

from __future__ import annotations

import enum

import azure.core.exceptions as azure_errors
import botocore.exceptions


class Failure(enum.Enum):
    """The kinds of store failure a user can act on differently."""

    NO_CREDENTIALS = "no_credentials"
    NO_BUCKET = "no_bucket"
    DENIED = "denied"
    UNREACHABLE = "unreachable"
    OTHER = "other"


_BACKEND_ERRORS: tuple[type[BaseException], ...] = (
    botocore.exceptions.BotoCoreError,
    botocore.exceptions.ClientError,
    azure_errors.AzureError,
)
_DENIED = frozenset({"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"})


def _backend_error(exc: BaseException) -> BaseException | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _BACKEND_ERRORS):
            return seen
        seen = seen.__cause__
    return None


def classify(exc: BaseException) -> tuple[Failure, str] | None:
    """`(kind, the store's error code or the error's type name)` of a store's error.

    None when `exc` is not one (a local `OSError`, a bug).
    """
    error = _backend_error(exc)
    if error is None:
        return None
    if isinstance(error, azure_errors.AzureError):
        return _classify_azure(error)
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return Failure.NO_CREDENTIALS, type(error).__name__
    if isinstance(error, botocore.exceptions.ClientError):
        code = str(error.response.get("Error", {}).get("Code", "?"))
        if code == "NoSuchBucket":
            return Failure.NO_BUCKET, code
        return (Failure.DENIED if code in _DENIED else Failure.OTHER), code
    return Failure.UNREACHABLE, type(error).__name__


def _classify_azure(error: azure_errors.AzureError) -> tuple[Failure, str]:
    if isinstance(error, azure_errors.ServiceRequestError):  # nothing answered
        return Failure.UNREACHABLE, type(error).__name__
    code = str(getattr(error, "error_code", None) or getattr(error, "status_code", None) or "?")
    if isinstance(error, azure_errors.ResourceNotFoundError) and code == "ContainerNotFound":
        return Failure.NO_BUCKET, code
    if isinstance(error, azure_errors.ClientAuthenticationError) or code == "403":
        return Failure.DENIED, code
    return Failure.OTHER, code
