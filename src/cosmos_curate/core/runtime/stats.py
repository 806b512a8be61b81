"""Per-stage counters and speed measurements the engine updates as calls finish."""

from __future__ import annotations

import collections
import time

import attrs

THROUGHPUT_WINDOW_S = 10.0
COST_WINDOW_S = 5.0
"""Seconds of recent calls the cost per task is measured over (short: loads change fast)."""
GAP_SAMPLES = 64


@attrs.define
class UsageTally:
    """A stage's CPU and memory over the run: peak and time-weighted mean.

    Each reading is the sum over the stage's live workers when a call reports; it holds
    until the next reading.
    """

    peak_cpu_percent: float = 0.0
    peak_rss_bytes: int = 0
    _cpu_area: float = 0.0
    _rss_area: float = 0.0
    _first: float | None = None
    _last: tuple[float, float, int] | None = None

    def observe(self, now: float, cpu_percent: float, rss_bytes: int) -> None:
        """The stage's workers together use `cpu_percent` and `rss_bytes` from `now` on."""
        self._advance(now)
        self._first = now if self._first is None else self._first
        self._last = (now, cpu_percent, rss_bytes)
        self.peak_cpu_percent = max(self.peak_cpu_percent, cpu_percent)
        self.peak_rss_bytes = max(self.peak_rss_bytes, rss_bytes)

    def means(self, now: float) -> tuple[float, int]:
        """(CPU percent, RSS bytes) averaged over time from the first reading to `now`."""
        if self._first is None or self._last is None:
            return 0.0, 0
        span = now - self._first
        if span <= 0:
            return self._last[1], self._last[2]
        tail = now - self._last[0]
        cpu = (self._cpu_area + self._last[1] * tail) / span
        rss = (self._rss_area + self._last[2] * tail) / span
        return cpu, int(rss)

    def _advance(self, now: float) -> None:
        if self._last is not None:
            elapsed = max(0.0, now - self._last[0])
            self._cpu_area += self._last[1] * elapsed
            self._rss_area += self._last[2] * elapsed


@attrs.define
class StageStats:
    """Mutable counters the engine updates as calls finish."""

    tasks_done: int = 0
    tasks_produced: int = 0
    tasks_failed: int = 0
    calls: int = 0
    process_seconds: float = 0.0
    deserialize_seconds: float = 0.0
    deserialize_bytes: int = 0
    deserialize_count: int = 0
    seconds_per_task: float | None = None
    cpu_percent_by_worker: dict[int, float] = attrs.field(factory=dict)
    rss_by_worker: dict[int, int] = attrs.field(factory=dict)
    usage: UsageTally = attrs.field(factory=UsageTally)
    _recent: collections.deque[tuple[float, int, float]] = attrs.field(factory=collections.deque)
    _gaps: collections.deque[float] = attrs.field(
        factory=lambda: collections.deque(maxlen=GAP_SAMPLES)
    )

    def record_call(
        self,
        *,
        tasks_in: int,
        tasks_out: int,
        failed: int,
        process_seconds: float,
        deserialize_seconds: float,
        deserialize_bytes: int,
        gap_seconds: float | None = None,
    ) -> None:
        """Account one finished call (`gap_seconds`: see `CallReport.gap_seconds`)."""
        now = time.monotonic()
        self.calls += 1
        self.tasks_done += tasks_in - failed
        self.tasks_failed += failed
        self.tasks_produced += tasks_out
        self.process_seconds += process_seconds
        self.deserialize_seconds += deserialize_seconds
        self.deserialize_bytes += deserialize_bytes
        self.deserialize_count += 1
        self._recent.append((now, tasks_in, process_seconds))
        if gap_seconds is not None:
            self._gaps.append(gap_seconds)
        while self._recent and now - self._recent[0][0] > THROUGHPUT_WINDOW_S:
            self._recent.popleft()
        # Cost per task over the window: busy seconds / tasks, robust to one slow call.
        recent = self._within(COST_WINDOW_S)
        window_tasks = sum(n for n, _ in recent)
        if window_tasks:
            self.seconds_per_task = sum(s for _, s in recent) / window_tasks

    def _within(self, seconds: float) -> list[tuple[int, float]]:
        """(tasks, process seconds) of the calls that finished in the last `seconds`."""
        now = time.monotonic()
        return [(n, s) for t, n, s in self._recent if now - t <= seconds]

    def busy_seconds(self, within_s: float) -> float:
        """Seconds spent in `process_data` by calls that finished in the last `within_s`."""
        return sum(s for _, s in self._within(within_s))

    @property
    def call_overhead_s(self) -> float | None:
        """Per-call overhead between two queued calls of a worker (None until 8 samples).

        The mean of the lowest three quarters of the recent gaps: the highest quarter is
        dropped because a gap also grows when the worker waited for work to arrive.
        """
        if len(self._gaps) < 8:
            return None
        low = sorted(self._gaps)[: max(1, len(self._gaps) * 3 // 4)]
        return sum(low) / len(low)

    @property
    def fan_out(self) -> float:
        """Measured outputs per input (1.0 until measured)."""
        done = self.tasks_done + self.tasks_failed
        return self.tasks_produced / done if done else 1.0

    def throughput(self, elapsed_s: float) -> float:
        """Tasks per second over the last few seconds."""
        if not self._recent:
            return 0.0
        window = min(THROUGHPUT_WINDOW_S, max(elapsed_s, 1e-3))
        count = sum(n for n, _ in self._within(window))
        return count / window
