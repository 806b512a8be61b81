"""What crosses between the driver and a worker actor: the pickled chunk format and replies.

A *chunk* is a list of tasks pickled once (`dumps`) into a `WireBlob` and shipped inline or
as a Ray object ref; a call names a slice of each chunk it takes (`Chunk.span`). A worker
returns a `CallReport` plus its outputs pickled in parts, so the driver forwards them by
reference without deserializing them. The stage object itself travels pickled once per run
(`dump_stage`).

Large buffers travel out of band (pickle protocol 5): a numpy array in a task is not copied
into the pickle stream; Ray writes its buffer into the object store once and the next stage
reads it in place (zero-copy, so such arrays arrive read-only, as with `ray.get`). `bytes`
fields stay in the stream (pickle offers no hook for them).
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Sequence
from typing import Any

import attrs
import ray
from ray import cloudpickle

from cosmos_curate.core.interfaces.results import FailureRecord
from cosmos_curate.core.interfaces.stage_interface import CuratorStage
from cosmos_curate.core.runtime.queues import Chunk


@attrs.frozen
class SetupReport:
    """What a worker says once `stage_setup` finished."""

    pid: int
    node_id: str
    executable: str
    gpu_ids: tuple[str, ...]
    seconds: float


@attrs.frozen
class CallReport:
    """Outcome of one call: counts, timings and failure records (small; fetched by the driver)."""

    tasks_in: int
    part_counts: tuple[int, ...]
    process_seconds: float
    deserialize_seconds: float
    deserialize_bytes: int
    failures: tuple[FailureRecord, ...]
    retries: int
    rss_bytes: int
    cpu_percent: float
    gap_seconds: float | None = None
    """Time from the end of the previous call's work to the start of this call's work: the
    per-call overhead when the call was already queued (None on a worker's first call)."""
    error: bytes | None = None
    """The first exception `process_data` gave up on, pickled (None: none, or unpicklable);
    the driver rebuilds it as the `original_error` of `PipelineExecutionError`."""
    part_bytes: tuple[int, ...] = ()
    """Serialized size of each output part (`WireBlob.nbytes`): what the byte budget counts."""


class WireBlob:
    """A pickled list of tasks: the pickle stream plus its out-of-band buffers.

    Pickled with protocol 5 (as Ray does) the buffers stay out of band, so Ray copies each
    one into the object store once and hands the reader a view of it; with an older
    protocol they are copied in band.
    """

    __slots__ = ("buffers", "meta")

    def __init__(self, meta: bytes, buffers: Sequence[Any] = ()) -> None:
        self.meta = meta
        self.buffers = tuple(buffers)

    @property
    def nbytes(self) -> int:
        """Bytes of the stream and its buffers together."""
        return len(self.meta) + sum(memoryview(b).nbytes for b in self.buffers)

    @property
    def writable(self) -> bool:
        """Whether a buffer can be written through (a task could change it in place)."""
        return any(not memoryview(b).readonly for b in self.buffers)

    def __reduce_ex__(self, protocol: Any) -> Any:
        buffers: tuple[Any, ...]
        if isinstance(protocol, int) and protocol >= 5:
            buffers = tuple(pickle.PickleBuffer(b) for b in self.buffers)
        else:
            buffers = tuple(bytes(memoryview(b)) for b in self.buffers)
        return WireBlob, (self.meta, buffers)


def dumps(tasks: Sequence[Any]) -> WireBlob:
    """Serialize a list of tasks the way the runtime ships them between stages."""
    buffers: list[pickle.PickleBuffer] = []
    stream = io.BytesIO()
    pickler = cloudpickle.CloudPickler(  # type: ignore[no-untyped-call]
        stream, protocol=5, buffer_callback=buffers.append
    )
    pickler.dump(list(tasks))  # type: ignore[no-untyped-call]
    return WireBlob(stream.getvalue(), buffers)


def loads(blob: WireBlob, *, copy: bool = False) -> list[Any]:
    """Inverse of `dumps`: arrays are views of the blob's buffers unless `copy`.

    `copy=True` gives tasks that own their memory (writable, and the object store may free
    the blob): for what the driver keeps, the last stage's outputs.
    """
    buffers = [bytearray(memoryview(b)) for b in blob.buffers] if copy else blob.buffers
    tasks: list[Any] = cloudpickle.loads(blob.meta, buffers=buffers)
    return tasks


def dump_stage(stage: CuratorStage[Any, Any]) -> bytes:
    """The stage object pickled once per run (put in the object store for every worker)."""
    blob: bytes = cloudpickle.dumps(stage)  # type: ignore[no-untyped-call]
    return blob


def pickled_error(exc: BaseException | None) -> bytes | None:
    """`exc` pickled without its traceback, or None when it cannot be pickled."""
    if exc is None:
        return None
    try:
        blob: bytes = cloudpickle.dumps(exc.with_traceback(None))  # type: ignore[no-untyped-call]
    except Exception:  # an exception holding a lock, a socket...: the record says enough
        return None
    return blob


def load_stage(blob: bytes) -> CuratorStage[Any, Any]:
    """Inverse of `dump_stage` (in the worker, inside the stage's interpreter)."""
    stage: CuratorStage[Any, Any] = cloudpickle.loads(blob)
    return stage


def split_evenly(items: list[Any], n_parts: int) -> list[list[Any]]:
    """Split into `n_parts` contiguous parts whose sizes differ by at most one."""
    n_parts = max(1, n_parts)
    size, extra = divmod(len(items), n_parts)
    parts, start = [], 0
    for i in range(n_parts):
        end = start + size + (1 if i < extra else 0)
        parts.append(items[start:end])
        start = end
    return parts


def load_chunk(chunk: Chunk) -> list[Any]:
    """The tasks of a chunk (fetched from the object store when needed), owning their memory."""
    blob = ray.get(chunk.data) if isinstance(chunk.data, ray.ObjectRef) else chunk.data
    start, stop = chunk.span
    return loads(blob, copy=True)[start:stop]
