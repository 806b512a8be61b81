"""What Ray says about its object store: capacity, bytes in use, bytes spilled to disk.

Capacity comes from the cluster's resources (`object_store_memory`); use and spilling from
the raylets' memory report (a gRPC round trip that every raylet answers, 5-90 ms), read by
a `StorePoller` thread every `EngineOptions.store_poll_interval_s` so that the driver's loop
never waits for it. Ray's private API may change between releases: any failure reads as
"unknown" (None), never as an error of the run.
"""

from __future__ import annotations

import logging
import threading

import attrs
import ray

from cosmos_curate.core.runtime.run_state import RunState

logger = logging.getLogger(__name__)


@attrs.frozen
class StoreUse:
    """The cluster's object store, summed over nodes."""

    used_bytes: int
    """Bytes of live objects (primary copies). Ray keeps freed objects cached until it
    needs the room; those are not counted (they never cause spilling)."""
    cached_bytes: int
    """Every byte the store holds now, freed-but-cached objects and secondary copies too."""
    spilled_bytes: int
    """Bytes spilled to disk since the cluster started (cumulative)."""


def object_store_capacity() -> int:
    """Bytes of object store in the cluster (0 when Ray does not say)."""
    try:
        return int(ray.cluster_resources().get("object_store_memory", 0))  # type: ignore[no-untyped-call]
    except Exception:  # not connected, or Ray going down
        logger.debug("could not read the object store size", exc_info=True)
        return 0


def object_store_use() -> StoreUse | None:
    """Bytes in use and spilled now, over the whole cluster; None when Ray cannot say."""
    try:
        from ray._private.internal_api import get_memory_info_reply, get_state_from_address

        address = ray.get_runtime_context().gcs_address
        state = get_state_from_address(address)  # type: ignore[no-untyped-call]
        reply = get_memory_info_reply(state, timeout_seconds=5.0)  # type: ignore[no-untyped-call]
        stats = reply.store_stats
        return StoreUse(
            int(stats.object_store_bytes_primary_copy),
            int(stats.object_store_bytes_used),
            int(stats.spilled_bytes_total),
        )
    except Exception:  # private API moved, a raylet gone: report nothing rather than fail
        logger.debug("could not read object store use", exc_info=True)
        return None


class StorePoller:
    """Reads the object store's use in a daemon thread; the engine copies the latest reading."""

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._latest: tuple[StoreUse, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="curate-store-poll", daemon=True)

    def start(self) -> None:
        """Begin polling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop polling (returns at once; the thread ends within one interval)."""
        self._stop.set()

    def _loop(self) -> None:
        capacity = object_store_capacity()
        while not self._stop.is_set():
            use = object_store_use()
            if use is not None:
                self._latest = (use, capacity)
            self._stop.wait(self._interval_s)

    def observe(self, state: RunState, *, now: bool = False) -> None:
        """Copy the latest reading into the run's byte account (`now`: read it first)."""
        if now:
            use = object_store_use()
            if use is not None:
                self._latest = (use, object_store_capacity())
        latest = self._latest
        if latest is not None:
            use, capacity = latest
            state.bytes.observe_store(use.used_bytes, capacity, use.spilled_bytes)
