"""Fixtures for the metrics tests: a pipeline kept running in the background, a real Prometheus.

One pipeline run and one Prometheus serve every integration test of a module: the pipeline's
input is endless until the module is done with it, so every query sees a live pipeline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from tests.observability.pipeline_stages import Blob, GpuStage, ReadStage, WriteStage
from tests.support import free_port

# Ray re-exports a gauge only when it is set again and forgets it after two report
# intervals; a 2 s interval (default 10 s) makes values reach the port within seconds.
# Read by every Ray process started after this import, i.e. the session's cluster.
os.environ.setdefault("RAY_metrics_report_interval_ms", "2000")

PIPELINE_MAX_S = 900.0
"""A cap on the background run if the module never stops it; the module stops it itself (on a
loaded machine its tests take minutes: a 120 s cap ended the run under two of them)."""


def services_required() -> bool:
    """Whether a missing external service must fail the test instead of skipping it."""
    return os.environ.get("CURATE_REQUIRE_SERVICES") == "1"


def require_binary(name: str) -> str:
    """The path of `name`; skip (or fail under CURATE_REQUIRE_SERVICES=1) when absent."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (apt-get install -y {name})"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    return path


@attrs.define
class RunningPipeline:
    """A pipeline running in a background thread until `stop()`."""

    metrics_port: int
    thread: threading.Thread
    stop_event: threading.Event
    outcome: dict[str, Any]

    @property
    def metrics_url(self) -> str:
        """Ray's metrics export endpoint, where the pipeline's metrics appear."""
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def check(self) -> None:
        """Fail now if the run already ended (it must outlive every test of the module)."""
        if "error" in self.outcome:
            error = self.outcome["error"]
            pytest.fail(f"the pipeline failed: {type(error).__name__}: {error}")
        if not self.thread.is_alive():
            pytest.fail("the pipeline ended before the test read it")

    def stop(self) -> None:
        """End the input and wait for the run to drain; re-raise what the run raised."""
        self.stop_event.set()
        self.thread.join(timeout=90)
        assert not self.thread.is_alive(), "the pipeline did not finish after its input ended"
        if "error" in self.outcome:
            raise self.outcome["error"]


def _endless_input(stop: threading.Event) -> Iterator[Blob]:
    started = time.monotonic()
    i = 0
    while not stop.is_set() and time.monotonic() - started < PIPELINE_MAX_S:
        yield Blob(id=i)
        i += 1


@pytest.fixture(scope="module")
def running_pipeline(
    ray_cluster: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningPipeline]:
    """ReadStage -> GpuStage (0.5 GPU) -> WriteStage, fed until the module's tests are done."""
    from cosmos_curate.core.interfaces.pipeline_interface import execute_pipeline

    runs = tmp_path_factory.mktemp("runs")
    stop = threading.Event()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = execute_pipeline(
                _endless_input(stop),
                [ReadStage(), GpuStage(), WriteStage()],
                failures_path=runs / "failures.jsonl",
                collect_outputs=False,
            )
        except Exception as exc:  # handed to the test thread by stop()
            outcome["error"] = exc

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CURATE_RUNS_DIR", str(runs))
        thread = threading.Thread(target=run, name="observability-pipeline", daemon=True)
        thread.start()
        pipeline = RunningPipeline(int(str(ray_cluster["metrics_port"])), thread, stop, outcome)
        try:
            yield pipeline
        finally:
            pipeline.stop()


@attrs.define
class Prometheus:
    """A Prometheus server started by the tests; `query` runs PromQL on its HTTP API."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def api(self, path: str, **params: str) -> dict[str, Any]:
        """GET an API path; the decoded JSON answer (raises on HTTP errors)."""
        import json

        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read())
        return answer

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant query; the result vector (empty list when no series match)."""
        answer = self.api("/api/v1/query", query=promql)
        assert answer["status"] == "success", answer
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"prometheus exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"prometheus not ready after 30 s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def prometheus(
    running_pipeline: RunningPipeline, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    """Prometheus on 127.0.0.1 scraping the pipeline's metrics port every second."""
    binary = require_binary("prometheus")
    root = tmp_path_factory.mktemp("prometheus")
    config = root / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: cosmos-curate\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{running_pipeline.metrics_port}']\n"
    )
    port = free_port()
    log = root / "prometheus.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--storage.tsdb.path={root / 'tsdb'}",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        yield Prometheus(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
