"""The one progress view: the runtime's records and a metrics scrape render the same table."""

from __future__ import annotations

import pytest
from rich.console import Console
from tests.presentation.progress_records import pipeline_progress, stage_progress

from cosmos_curate.cli.metrics_cli import parse
from cosmos_curate.presentation.progress_view import (
    COLUMNS,
    ProgressView,
    from_progress,
    render,
)

NODE_ID = "abcdef01" + "9" * 48  # a Ray node id: 56 hex digits, shown by its first 8

PROGRESS = pipeline_progress(
    stage_progress("Read", tasks_done=120, tasks_produced=120, throughput=40.0,
                   seconds_per_task=0.05, workers_target=3, workers_busy=2, workers_idle=1,
                   input_queue=30, output_queue=5, cpu_percent=150.0, rss_bytes=1024**2),
    stage_progress("Write", tasks_done=100, tasks_produced=100, tasks_failed=3,
                   throughput=250.0, seconds_per_task=0.002, workers_target=2, workers_busy=1,
                   workers_starting=1, input_queue=17, cpu_percent=20.0, rss_bytes=3 * 1024**3,
                   gpu_alloc=((NODE_ID, "0", 0.5),)),
    elapsed_s=75.0, inputs_read=150, input_exhausted=False, outputs=100, failures=3,
    scheduler_round_seconds=0.0012, plan_rounds=42,
)  # fmt: skip

# The same run as the metrics endpoint serves it (series as `core.runtime.metrics` names them).
SCRAPE = f"""\
ray_pipeline_stage_index{{stage="Read"}} 0
ray_pipeline_stage_index{{stage="Write"}} 1
ray_pipeline_progress{{stage="Read"}} 0.8
ray_pipeline_progress{{stage="Write"}} {103 / (103 + 47)}
ray_pipeline_tasks_finished{{stage="Read"}} 120
ray_pipeline_tasks_finished{{stage="Write"}} 100
ray_pipeline_tasks_failed{{stage="Read"}} 0
ray_pipeline_tasks_failed{{stage="Write"}} 3
ray_pipeline_stage_throughput{{stage="Read"}} 40
ray_pipeline_stage_throughput{{stage="Write"}} 250
ray_pipeline_actor_process_time{{stage="Read"}} 0.05
ray_pipeline_actor_process_time{{stage="Write"}} 0.002
ray_pipeline_actor_count{{stage="Read",state="target"}} 3
ray_pipeline_actor_count{{stage="Read",state="running"}} 2
ray_pipeline_actor_count{{stage="Read",state="idle"}} 1
ray_pipeline_actor_count{{stage="Read",state="pending"}} 0
ray_pipeline_actor_count{{stage="Write",state="target"}} 2
ray_pipeline_actor_count{{stage="Write",state="running"}} 1
ray_pipeline_actor_count{{stage="Write",state="idle"}} 0
ray_pipeline_actor_count{{stage="Write",state="pending"}} 1
ray_pipeline_input_queue_size{{stage="Read"}} 30
ray_pipeline_input_queue_size{{stage="Write"}} 17
ray_pipeline_output_queue_size{{stage="Read"}} 5
ray_pipeline_output_queue_size{{stage="Write"}} 0
ray_pipeline_actor_resource_usage{{resource="cpu",stage="Read"}} 150
ray_pipeline_actor_resource_usage{{resource="memory",stage="Read"}} {1024**2}
ray_pipeline_actor_resource_usage{{resource="cpu",stage="Write"}} 20
ray_pipeline_actor_resource_usage{{resource="memory",stage="Write"}} {3 * 1024**3}
ray_pipeline_stage_gpu_alloc{{GpuIndex="0",NodeAddress="abcdef01",WorkerId="a",stage="Write"}} 0.25
ray_pipeline_stage_gpu_alloc{{GpuIndex="0",NodeAddress="abcdef01",WorkerId="b",stage="Write"}} 0.25
ray_pipeline_inputs_read{{SessionName="s"}} 150
ray_pipeline_input_exhausted{{SessionName="s"}} 0
ray_pipeline_outputs{{SessionName="s"}} 100
ray_pipeline_failures{{SessionName="s"}} 3
ray_pipeline_elapsed_seconds{{SessionName="s"}} 75
ray_pipeline_scheduler_round_time{{SessionName="s"}} 0.0012
ray_pipeline_plan_rounds_total{{SessionName="s"}} 42
"""


def _text(view: ProgressView) -> str:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(render(view, title="pipeline"))
    return console.export_text()


def test_both_sources_render_the_same_view() -> None:
    """A run seen through its progress records and through its metrics reads the same."""
    from_records = _text(from_progress(PROGRESS))
    from_metrics = _text(parse(SCRAPE))
    assert from_records == from_metrics
    lines = from_records.splitlines()
    bottom = next(i for i, line in enumerate(lines) if "stage" in line)
    header = " ".join(lines[bottom - 1 : bottom + 1])  # long headers take two lines
    for column in COLUMNS:  # every column's words are in the header
        assert all(word in header for word in column.split()), column
    ends = [lines[bottom].index(column.split()[-1]) for column in COLUMNS]
    assert ends == sorted(ends)  # in this order


def test_table_drops_columns_by_priority_to_fit_the_terminal() -> None:
    """At 120 columns the table fits; at 80 it keeps stage, progress, counts and workers."""
    for width, kept, dropped in (
        (120, ("workers", "memory"), ()),
        (80, ("stage", "progress", "done", "failed", "workers"), ("memory", "s/task")),
    ):
        console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
        console.print(render(from_progress(PROGRESS), title="pipeline"))
        text = console.export_text()
        assert max(len(line) for line in text.splitlines()) <= width
        assert "Read" in text and "Write" in text
        for column in kept:
            assert column in text, (width, column)
        for column in dropped:
            assert column not in text, (width, column)


def test_view_shows_what_a_user_watches_for() -> None:
    """Per stage: progress, workers by state, queues, cores, memory in IEC units, GPU shares."""
    text = _text(from_progress(PROGRESS))
    read_row = next(line for line in text.splitlines() if "Read" in line)
    write_row = next(line for line in text.splitlines() if "Write" in line)
    assert "80%" in read_row and "2/1/0 (3)" in read_row and "30/5" in read_row
    assert "1.50 cores" in read_row and "1.0 MiB" in read_row
    assert "3.0 GiB" in write_row and "abcdef01/0:0.5" in write_row and "1/0/1 (2)" in write_row
    assert "inputs 150+  outputs 100  failures 3  elapsed 1:15  ETA -" in text
    assert "scheduler round 1.2 ms  plan rounds 42" in text


def test_cpu_fallback_lost_workers_and_skipped_inputs_are_said() -> None:
    """A stage on CPU instead of GPU, workers lost and resumed inputs show up in the view."""
    stage = stage_progress("Caption", tasks_done=5, cpu_fallback=True, workers_lost=2)
    progress = pipeline_progress(
        stage, elapsed_s=3700.0, inputs_read=5, outputs=5, finished=True, inputs_skipped=7
    )
    text = _text(from_progress(progress))
    assert "Caption (CPU fallback)" in text
    assert "100%" in text and "elapsed 1:01:40" in text
    assert "workers lost 2 (their tasks re-ran)" in text
    assert "skipped 7 (done in an earlier run)" in text


def test_progress_counts_upstream_backlog_scaled_by_fan_out() -> None:
    """The last stage's fraction counts what upstream still holds, times measured fan-out."""
    first = stage_progress("A", tasks_done=4, tasks_produced=8, input_queue=6)  # fan-out 2
    second = stage_progress("B", tasks_done=8, tasks_produced=8, input_queue=0)
    fractions = pipeline_progress(first, second).stage_fractions()
    assert fractions[0] == pytest.approx(4 / 10)
    assert fractions[1] == pytest.approx(8 / (8 + 12))


def test_progress_is_one_when_finished_and_zero_before_anything() -> None:
    """A finished run shows 100 % everywhere; a run with nothing read yet shows 0."""
    assert pipeline_progress(stage_progress("A"), finished=True).stage_fractions() == [1.0]
    assert pipeline_progress(stage_progress("A")).stage_fractions() == [0.0]


def test_final_table_shows_the_workers_each_stage_used() -> None:
    """After the run every worker is retired: the table says how many each stage had."""
    done = pipeline_progress(
        stage_progress("Decode", tasks_done=10, workers_target=0, workers_peak=3),
        stage_progress("Embed", tasks_done=10, workers_target=0, workers_peak=1),
        finished=True,
    )
    text = _text(from_progress(done))
    assert "used 3" in next(line for line in text.splitlines() if "Decode" in line)
    assert "used 1" in next(line for line in text.splitlines() if "Embed" in line)


def test_eta_never_reads_zero_while_work_remains() -> None:
    """A fast stage with one task left still shows a second to go, not 0:00."""
    nearly = pipeline_progress(
        stage_progress("Only", tasks_done=9, throughput=1000.0, tasks_in_flight=1),
        inputs_read=10,
    )
    assert nearly.eta_s is not None and nearly.eta_s >= 1.0
    assert "ETA 0:00" not in _text(from_progress(nearly))
    finished = pipeline_progress(stage_progress("Only", tasks_done=10, throughput=1000.0))
    assert finished.eta_s == 0.0


def test_a_short_backpressure_wait_shows_in_seconds() -> None:
    """A wait under a minute reads `0.3 s`, not `0:00`; queued bytes in IEC units."""
    held = pipeline_progress(
        stage_progress("Decode", queued_bytes=3 * 1024**2, backpressure_wait_s=0.3)
    )
    row = next(line for line in _text(from_progress(held)).splitlines() if "Decode" in line)
    assert "3.0 MiB (0.3 s)" in row


def test_final_table_shows_cpu_and_memory_over_the_run() -> None:
    """At the end the workers are gone: CPU and memory read mean/peak over the run, not 0."""
    done = pipeline_progress(
        stage_progress("Decode", tasks_done=10, cpu_percent=0.0, rss_bytes=0,
                       cpu_percent_mean=85.0, cpu_percent_peak=198.0,
                       rss_bytes_mean=200 * 1024**2, rss_bytes_peak=300 * 1024**2),
        finished=True,
    )  # fmt: skip
    line = next(line for line in _text(from_progress(done)).splitlines() if "Decode" in line)
    assert "0.85/1.98 cores" in line
    assert "200.0 MiB/300.0 MiB" in line
    running = pipeline_progress(stage_progress("Decode", cpu_percent=50.0, rss_bytes=1024**2))
    line = next(line for line in _text(from_progress(running)).splitlines() if "Decode" in line)
    assert "0.50 cores" in line and "/" not in line.split("cores")[0].split()[-1]
