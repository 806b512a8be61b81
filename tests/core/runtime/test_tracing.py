"""`otlp_endpoint`: a real run on the session's Ray sends its spans to a real OTLP receiver.

The receiver is a small HTTP server on 127.0.0.1, started here, that decodes each POST to
/v1/traces as OpenTelemetry's protobuf `ExportTraceServiceRequest`, the way a collector
does. One run (module fixture) of two stages over a few tasks; the tests check what a user
of a trace viewer sees: one span per task per stage under its stage's span, under the run's
span, each with the run id and the call's queue wait, worker and node; and that the auth
header the exporter sends never reaches the log.
"""

from __future__ import annotations

import gzip
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import attrs
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from cosmos_curate.core import runs
from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    PipelineTask,
)
from cosmos_curate.core.runtime.errors import OtlpEndpointError
from cosmos_curate.core.runtime.run_options import RunOptions
from cosmos_curate.core.runtime.tracing import traces_url

pytestmark = pytest.mark.integration

N_INPUTS = 5
SECRET = "sekrit-token-123"


@attrs.define
class Item(PipelineTask):
    """A number passed along."""

    n: int


class Add(CuratorStage[Item, Item]):
    """Adds one."""

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=0.5)

    @property
    def stage_batch_size(self) -> int:
        return 2

    def process_data(self, tasks: list[Item]) -> list[Item] | None:
        for task in tasks:
            task.n += 1
        return tasks


class Twice(Add):
    """Doubles."""

    def process_data(self, tasks: list[Item]) -> list[Item] | None:
        for task in tasks:
            task.n *= 2
        return tasks


@attrs.define
class Receiver:
    """What the receiver got: spans (decoded protobuf) and the headers of each request."""

    url: str
    spans: list[Any] = attrs.field(factory=list)
    headers: list[dict[str, str]] = attrs.field(factory=list)
    paths: list[str] = attrs.field(factory=list)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """An OTLP/HTTP receiver on 127.0.0.1 (a free port), stopped at the end."""
    got = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            request = trace_service_pb2.ExportTraceServiceRequest()
            request.ParseFromString(body)
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    got.spans.extend(scope_spans.spans)
            got.headers.append({k.lower(): v for k, v in self.headers.items()})
            got.paths.append(self.path)
            reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    got.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def traced_run(
    ray_cluster: dict[str, Any],
    receiver: Receiver,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[runs.Run, str]]:
    """One run sending spans to the receiver (an auth header set the OpenTelemetry way);
    returns the run and everything the run logged."""
    run = runs.create_run("trace-test", root=tmp_path_factory.mktemp("trace-runs"))
    handler = _Capture()
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    # An in-process CLI test earlier in this xdist worker leaves the package's logger at
    # WARNING and not propagating (cli.common.configure_logging): hear it directly too.
    ours = logging.getLogger("cosmos_curate")
    ours_before = (ours.level, ours.disabled)
    if not ours.propagate:
        ours.addHandler(handler)
    ours.setLevel(logging.DEBUG)
    ours.disabled = False
    mp = pytest.MonkeyPatch()
    mp.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"authorization=Bearer {SECRET}")
    try:
        result = execute_pipeline(
            [Item(i) for i in range(N_INPUTS)],
            [Add(), Twice()],
            run_dir=run.folder,
            otlp_endpoint=receiver.url,
            metrics_port=None,
        )
    finally:
        mp.undo()
        root.removeHandler(handler)
        root.setLevel(old_level)
        ours.removeHandler(handler)
        ours.setLevel(ours_before[0])
        ours.disabled = ours_before[1]
    assert result.num_outputs == N_INPUTS
    yield run, "\n".join(handler.lines)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _attrs(span: Any) -> dict[str, Any]:
    out = {}
    for kv in span.attributes:
        value = kv.value
        out[kv.key] = getattr(value, value.WhichOneof("value"))
    return out


def test_one_span_per_task_per_stage_nested_under_the_run(
    traced_run: tuple[runs.Run, str], receiver: Receiver
) -> None:
    """Run span -> one span per stage -> one span per task; one trace; all sent by the
    time the run returns."""
    run, _ = traced_run
    ours = [s for s in receiver.spans if _attrs(s).get("curate.run_id") == run.id]
    by_name: dict[str, list[Any]] = {}
    for span in ours:
        by_name.setdefault(span.name, []).append(span)
    (run_span,) = by_name[f"run {run.pipeline}"]
    assert run_span.parent_span_id == b""
    stage_spans = by_name["stage Add"] + by_name["stage Twice"]
    assert len(stage_spans) == 2
    assert all(s.parent_span_id == run_span.span_id for s in stage_spans)
    for stage_span in stage_spans:
        stage = _attrs(stage_span)["curate.stage"]
        tasks = by_name[f"{stage} task"]
        assert len(tasks) == N_INPUTS
        assert all(t.parent_span_id == stage_span.span_id for t in tasks)
    assert {s.trace_id for s in ours} == {run_span.trace_id}
    assert set(receiver.paths) == {"/v1/traces"}


def test_task_spans_carry_queue_wait_process_retries_worker_node(
    traced_run: tuple[runs.Run, str], receiver: Receiver
) -> None:
    """Each task span says how long it queued and ran, its retries, its worker and node."""
    run, _ = traced_run
    tasks = [s for s in receiver.spans if s.name.endswith(" task")]
    tasks = [s for s in tasks if _attrs(s)["curate.run_id"] == run.id]
    assert len(tasks) == 2 * N_INPUTS
    for span in tasks:
        attributes = _attrs(span)
        assert attributes["curate.queue_wait_s"] >= 0
        assert attributes["curate.process_s"] >= 0
        assert attributes["curate.retries"] == 0
        assert attributes["curate.worker"].startswith(attributes["curate.stage"] + "/")
        assert attributes["curate.worker.pid"] > 0
        assert len(attributes["curate.node"]) > 8
        assert span.end_time_unix_nano >= span.start_time_unix_nano
        assert [e.name for e in span.events] == ["dispatched"]


def test_the_auth_header_is_sent_and_never_logged(
    traced_run: tuple[runs.Run, str], receiver: Receiver
) -> None:
    """OTEL_EXPORTER_OTLP_HEADERS reaches the receiver; no log line holds the token."""
    _, logged = traced_run
    assert receiver.headers
    assert all(h.get("authorization") == f"Bearer {SECRET}" for h in receiver.headers)
    assert SECRET not in logged
    assert "spans go to" in logged  # the endpoint itself is logged (without credentials)


@pytest.mark.parametrize(
    "url", ["ftp://collector:4318", "collector:4318", "http://", "file:///tmp/x", "http://h:port"]
)
def test_only_http_urls_are_endpoints(url: str) -> None:
    """Anything but an http(s) URL with a host is one error naming the option."""
    with pytest.raises(OtlpEndpointError, match="--otlp-endpoint"):
        RunOptions(otlp_endpoint=url)


def test_a_refused_url_does_not_show_its_credentials() -> None:
    """The error line keeps the scheme and host, drops user, password and query."""
    with pytest.raises(OtlpEndpointError) as caught:
        RunOptions(otlp_endpoint="ftp://user:hunter2@collector:4318/x?token=abc")
    assert "hunter2" not in str(caught.value) and "abc" not in str(caught.value)
    assert "ftp://collector:4318/x" in str(caught.value)


def test_credentials_in_the_url_are_refused() -> None:
    """A user, password or query in the URL is refused (it would be recorded with the run's
    options), pointing at OTEL_EXPORTER_OTLP_HEADERS, without echoing them."""
    for url in ("http://user:hunter2@collector:4318", "https://collector/v1/traces?key=hunter2"):
        with pytest.raises(OtlpEndpointError, match="OTEL_EXPORTER_OTLP_HEADERS") as caught:
            RunOptions(otlp_endpoint=url)
        assert "hunter2" not in str(caught.value)


def test_the_traces_path_is_added_to_a_bare_endpoint(tmp_path: Path) -> None:
    """A bare host gets /v1/traces (OTLP's convention); a full URL is kept as given."""
    assert traces_url("http://h:4318") == "http://h:4318/v1/traces"
    assert traces_url("https://h/") == "https://h/v1/traces"
    assert traces_url("https://h/custom/traces") == "https://h/custom/traces"
