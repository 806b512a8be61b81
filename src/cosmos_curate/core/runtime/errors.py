"""Errors the runtime raises when a run cannot start or go on; each is a one-line message."""

from __future__ import annotations

from cosmos_curate.core.interfaces.errors import CurateError, PipelineExecutionError


class GpuRequiredError(CurateError):
    """A stage needs a GPU, the cluster has none, and CPU fallback was refused."""


class ClusterTooSmallError(CurateError):
    """A stage's single worker needs more CPUs or GPUs than any node has."""


class StageSetupError(PipelineExecutionError):
    """A stage's `stage_setup` kept failing (or its workers kept dying in it): the run stops.

    A `PipelineExecutionError`, so upstream code catching that catches this too.
    """


class MetricsUnavailableError(CurateError):
    """Nothing usable is served at a metrics URL (refused, timed out, not metrics, empty)."""


class StageSaveError(CurateError):
    """`stage_save` names a stage the pipeline lacks, or its sample rate is not in (0, 1]."""


class SavedStageError(CurateError):
    """A folder given to replay is no stage save (no manifest), or lacks what was asked."""


class StageReplayError(CurateError):
    """The replayed stage raised in its setup or `process_data` (exit 1, as a stopped run)."""


class ProfileRequestError(CurateError, ValueError):
    """`profile` names a kind other than cpu, memory or gpu."""


class OtlpEndpointError(CurateError, ValueError):
    """`otlp_endpoint` is not an http:// or https:// URL with a host."""


class StoreFractionError(CurateError, ValueError):
    """`object_store_fraction` is not a share in (0, 1]."""
