"""Errors of the weights store and its download sources; each `str()` is one line with a fix."""

from __future__ import annotations

from cosmos_curate.core.interfaces.errors import CurateError


class WeightsError(CurateError):
    """Base of the errors raised while checking or fetching model weights."""


class HubOfflineError(WeightsError):
    """Offline mode (`HF_HUB_OFFLINE`) forbids the download that is needed."""


class HubUnreachableError(WeightsError):
    """The Hugging Face hub (or `HF_ENDPOINT`) did not answer in time."""


class HubAccessError(WeightsError):
    """The hub refused the model: unknown, private or gated without a valid `HF_TOKEN`."""


class RevisionError(WeightsError):
    """The pinned revision does not exist on the source, or the source serves another one."""


class MissingFileError(WeightsError):
    """The registry's `filelist` names a file the model does not have at its revision."""


class CorruptDownloadError(WeightsError):
    """A fetched file does not match the size or checksum its source announced."""


class UnsafeRemoteNameError(WeightsError):
    """A source names a file that would land outside the model's folder (`..`, absolute, ...)."""


class WeightsPrefixError(WeightsError):
    """`--model-weights-prefix` is not an `s3://bucket/prefix` URL."""


class UnverifiedWeightsError(WeightsError):
    """A model that runs code from its folder found weights not verified against their source."""


class S3WeightsError(WeightsError):
    """Fetching weights from an `s3://` prefix failed (bad URL, bucket, credentials, network)."""


class WeightsNotReadyError(WeightsError):
    """Weights a pipeline needs are missing or incomplete and downloading was not asked for."""


class PackagedWeightsError(WeightsError):
    """An installed package's copy of a model file does not match its pinned size or sha256."""
