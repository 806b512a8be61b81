"""`curate metrics tail` without a pipeline: parsing, rendering, and nothing serving."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console
from tests.support import CURATE, curate_in_process, free_port, one_error_line

from cosmos_curate.cli.metrics_cli import MetricsUnavailableError, parse
from cosmos_curate.presentation.progress_view import render

SAMPLE = """\
# HELP ray_pipeline_stage_index d
# TYPE ray_pipeline_stage_index gauge
ray_pipeline_stage_index{SessionName="s",stage="Write"} 1.0
ray_pipeline_stage_index{SessionName="s",stage="Read"} 0.0
# HELP ray_pipeline_actor_count d
# TYPE ray_pipeline_actor_count gauge
ray_pipeline_actor_count{stage="Read",state="running"} 2.0
ray_pipeline_actor_count{stage="Read",state="idle"} 1.0
ray_pipeline_actor_count{stage="Read",state="target"} 3.0
# HELP ray_pipeline_tasks_finished d
# TYPE ray_pipeline_tasks_finished gauge
ray_pipeline_tasks_finished{stage="Read"} 120.0
ray_pipeline_tasks_finished{stage="Write"} 100.0
# HELP ray_pipeline_tasks_failed d
# TYPE ray_pipeline_tasks_failed gauge
ray_pipeline_tasks_failed{stage="Write"} 3.0
# HELP ray_pipeline_stage_gpu_alloc d
# TYPE ray_pipeline_stage_gpu_alloc gauge
ray_pipeline_stage_gpu_alloc{GpuIndex="0",NodeAddress="10.0.0.2",WorkerId="a",stage="Write"} 0.25
ray_pipeline_stage_gpu_alloc{GpuIndex="0",NodeAddress="10.0.0.2",WorkerId="b",stage="Write"} 0.25
# HELP ray_pipeline_actor_resource_usage d
# TYPE ray_pipeline_actor_resource_usage gauge
ray_pipeline_actor_resource_usage{resource="cpu",stage="Read"} 150.0
ray_pipeline_actor_resource_usage{resource="memory",stage="Read"} 1048576.0
# HELP ray_pipeline_progress d
# TYPE ray_pipeline_progress gauge
ray_pipeline_progress{stage="Read"} 0.9
ray_pipeline_progress{stage="Write"} 0.5
# HELP ray_pipeline_plan_rounds_total d
# TYPE ray_pipeline_plan_rounds_total counter
ray_pipeline_plan_rounds_total{SessionName="s"} 42.0
# HELP ray_node_cpu_utilization d
# TYPE ray_node_cpu_utilization gauge
ray_node_cpu_utilization{ip="10.0.0.2"} 12.0
"""


def _text(snapshot_text: str) -> str:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(render(parse(snapshot_text), title="pipeline metrics @ http://x/metrics"))
    return console.export_text()


def test_parse_orders_stages_and_sums_series() -> None:
    """Stages come in pipeline order; workers by state, GPU shares per GPU are summed."""
    snapshot = parse(SAMPLE)
    assert [s.name for s in snapshot.stages] == ["Read", "Write"]
    read, write = snapshot.stages
    assert read.workers == {"running": 2.0, "idle": 1.0, "target": 3.0}
    assert read.cpu_percent == 150.0 and read.memory_bytes == 1048576.0
    assert write.gpu_alloc == {"10.0.0.2/0": 0.5}
    assert write.failed == 3.0
    assert snapshot.overall_progress == 0.5
    assert snapshot.run.plan_rounds == 42.0


def test_render_shows_each_stage_with_its_numbers() -> None:
    """The table shows workers, CPU cores, memory, the GPU share and the overall bar."""
    text = _text(SAMPLE)
    assert "Read" in text and "Write" in text
    assert "2/1/0 (3)" in text
    assert "1.50 cores" in text
    assert "1.0 MiB" in text
    assert "10.0.0.2/0:0.5" in text
    assert "overall" in text and "50%" in text
    assert "plan rounds 42" in text


def test_parse_rejects_ray_without_pipeline_and_non_metrics() -> None:
    """Ray-only metrics and a page that is not Prometheus text give one clear reason."""
    with pytest.raises(MetricsUnavailableError, match="none from a pipeline"):
        parse('ray_node_cpu_utilization{ip="1"} 1.0\n')
    with pytest.raises(MetricsUnavailableError):
        parse("<html><body>hello</body></html>\n")


def test_tail_once_against_nothing_exits_1_with_one_clear_line() -> None:
    """Nothing at the URL: a message naming the URL and what to do, exit 1, no traceback.

    In process through the CLI's entry point; the live test below is the real process.
    """
    url = f"http://127.0.0.1:{free_port()}/metrics"
    proc = curate_in_process("metrics", "tail", "--once", "--url", url)
    assert proc.returncode == 1
    assert f"nothing is serving metrics at {url}" in proc.stderr
    assert "curate pipeline run" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stdout == ""


def test_tail_once_against_a_port_that_is_not_http_is_one_clear_line() -> None:
    """Something listens at the URL but answers in another protocol (a Ray port did, in a CI
    run, on a port that was free a moment before): one line naming the URL, exit 1, no
    traceback (it was an unhandled `BadStatusLine`)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        url = f"http://127.0.0.1:{server.getsockname()[1]}/metrics"

        def answer() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(b"\x00\x00\x18\x04\x00\x00\x00\x00\x00@\xfe\x00\x01\n")

        responder = threading.Thread(target=answer, daemon=True)
        responder.start()
        proc = curate_in_process("metrics", "tail", "--once", "--url", url)
        responder.join(timeout=10)
    line = one_error_line(proc, 1)
    assert url in line and "not a metrics endpoint" in line, line
    assert proc.stdout == ""


def test_tail_live_against_nothing_keeps_retrying(tmp_path: Path) -> None:
    """Live mode shows the reason and keeps retrying instead of exiting."""
    url = f"http://127.0.0.1:{free_port()}/metrics"
    log = tmp_path / "tail.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*CURATE, "metrics", "tail", "--interval", "0.3", "--url", url],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and "retrying" not in log.read_text():
                time.sleep(0.3)
            time.sleep(1.0)
            assert proc.poll() is None, log.read_text()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    text = log.read_text()
    assert "nothing is serving metrics" in text and "retrying every 0.3 s" in text
    assert "Traceback" not in text
