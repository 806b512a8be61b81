"""`--otlp-endpoint URL`: one OpenTelemetry span per task per stage, exported over OTLP/HTTP.

The driver already knows, for every call that comes back, when each of its chunks was
queued, when the call was sent, which worker and node ran it, how long `process_data` took
and how many retries it used: `TaskTracer.on_call` turns that into one span per task,
child of its stage's span, itself a child of the run's span; every span carries the run id
(`curate.run_id`). Spans leave in batches from a background thread (OpenTelemetry's SDK),
so the engine's loop never waits for the receiver. Headers (e.g. an auth token) come from
OpenTelemetry's own `OTEL_EXPORTER_OTLP_HEADERS`, read by the exporter, never logged here;
a URL carrying a user, password or query is refused (it would be recorded with the
run's options), and a URL is only ever shown without them.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from cosmos_curate.core.runtime.errors import OtlpEndpointError

if TYPE_CHECKING:
    from cosmos_curate.core.runtime.run_state import InFlightCall
    from cosmos_curate.core.runtime.wire import CallReport

logger = logging.getLogger(__name__)

TRACES_PATH = "/v1/traces"
EXPORT_TIMEOUT_S = 10.0
FLUSH_TIMEOUT_MS = 30_000
MAX_QUEUED_SPANS = 65_536
"""Spans held for export; beyond that the SDK drops spans (and says so in the log)."""


def shown_url(url: str) -> str:
    """`url` without user, password, query or fragment: safe to print."""
    try:
        parts = urlsplit(url)
        netloc = parts.hostname or ""
        if parts.port is not None:
            netloc += f":{parts.port}"
    except ValueError:
        return "<unparsable URL>"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def check_otlp_endpoint(value: str | None) -> str | None:
    """The endpoint as given, or None; raises `OtlpEndpointError` unless http(s) with a host."""
    if value is None:
        return None
    url = value.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        host = None
    if parts.scheme not in ("http", "https") or not host or any(c.isspace() for c in url):
        msg = (
            f"--otlp-endpoint {shown_url(url)}: give an http:// or https:// URL of an "
            "OTLP/HTTP receiver, e.g. http://127.0.0.1:4318"
        )
        raise OtlpEndpointError(msg)
    if parts.username is not None or parts.password is not None or parts.query:
        msg = (
            f"--otlp-endpoint {shown_url(url)}: keep credentials out of the URL (it is "
            "recorded with the run); set OTEL_EXPORTER_OTLP_HEADERS instead"
        )
        raise OtlpEndpointError(msg)
    if importlib.util.find_spec("opentelemetry.exporter.otlp.proto.http") is None:
        msg = (
            "--otlp-endpoint needs OpenTelemetry's OTLP/HTTP exporter: "
            "pip install 'cosmos-curate[trace]'"
        )
        raise OtlpEndpointError(msg)
    return url


def traces_url(endpoint: str) -> str:
    """The URL spans are posted to: `endpoint` + `/v1/traces` unless it names a path."""
    parts = urlsplit(endpoint)
    if parts.path in ("", "/"):
        return urlunsplit((parts.scheme, parts.netloc, TRACES_PATH, parts.query, ""))
    return endpoint


class TaskTracer:
    """Spans for one run: the run, each stage, each task of each stage."""

    def __init__(self, endpoint: str, run_id: str, pipeline: str = "run_pipeline") -> None:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self._trace = trace
        self._run_id = run_id
        resource = Resource.create({"service.name": "cosmos-curate", "curate.run_id": run_id})
        self._provider = TracerProvider(resource=resource)
        exporter = OTLPSpanExporter(endpoint=traces_url(endpoint), timeout=EXPORT_TIMEOUT_S)
        self._provider.add_span_processor(
            BatchSpanProcessor(exporter, max_queue_size=MAX_QUEUED_SPANS)
        )
        self._tracer = self._provider.get_tracer("cosmos_curate")
        self._offset_ns = time.time_ns() - time.monotonic_ns()
        self._run_span = self._tracer.start_span(
            f"run {pipeline}", attributes={"curate.run_id": run_id, "curate.pipeline": pipeline}
        )
        self._stage_spans: dict[str, Any] = {}
        logger.info("tracing: spans go to %s", shown_url(traces_url(endpoint)))

    def _ns(self, monotonic_s: float) -> int:
        return int(monotonic_s * 1e9) + self._offset_ns

    def _stage_span(self, stage: str, start_ns: int) -> Any:
        span = self._stage_spans.get(stage)
        if span is None:
            context = self._trace.set_span_in_context(self._run_span)
            span = self._tracer.start_span(
                f"stage {stage}",
                context=context,
                start_time=start_ns,
                attributes={"curate.run_id": self._run_id, "curate.stage": stage},
            )
            self._stage_spans[stage] = span
        return span

    def on_call(self, stage: str, call: InFlightCall, report: CallReport) -> None:
        """One span per task of a call that came back (its failures counted, not hidden)."""
        end_ns = time.time_ns()
        sent_ns = self._ns(call.submitted_at)
        queued = [c.queued_at or call.submitted_at for c in call.chunks]
        parent = self._stage_span(stage, self._ns(min(queued, default=call.submitted_at)))
        context = self._trace.set_span_in_context(parent)
        worker = call.worker
        pid = worker.setup.pid if worker.setup is not None else 0
        common: dict[str, Any] = {
            "curate.run_id": self._run_id,
            "curate.stage": stage,
            "curate.worker": f"{stage}/{worker.worker_id}",
            "curate.worker.pid": pid,
            "curate.node": worker.node_id or "",
            "curate.process_s": report.process_seconds / max(1, report.tasks_in),
            "curate.call.process_s": report.process_seconds,
            "curate.call.tasks": report.tasks_in,
            "curate.call.failures": len(report.failures),
            "curate.retries": report.retries,
        }
        index = 0
        for chunk, queued_at in zip(call.chunks, queued, strict=True):
            wait = max(0.0, call.submitted_at - queued_at)
            for _ in range(chunk.n_tasks):
                span = self._tracer.start_span(
                    f"{stage} task",
                    context=context,
                    start_time=self._ns(queued_at),
                    attributes={**common, "curate.queue_wait_s": wait, "curate.task.index": index},
                )
                span.add_event("dispatched", timestamp=sent_ns)
                span.end(end_time=end_ns)
                index += 1

    def exit(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        """`ExitStack.push` callback: end the stage and run spans, send what is left."""
        from opentelemetry.trace import Status, StatusCode

        for span in self._stage_spans.values():
            span.end()
        if exc is not None:
            self._run_span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        self._run_span.end()
        try:
            if not self._provider.force_flush(FLUSH_TIMEOUT_MS):
                logger.warning("tracing: not every span reached the OTLP receiver")
        finally:
            self._provider.shutdown()
        return False
