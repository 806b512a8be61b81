"""The driver/worker wire format: chunks, parts and replies survive the trip (pure)."""

from __future__ import annotations

import pickle

from tests.core.runtime.test_streaming import Stamp

from cosmos_curate.core.interfaces.results import FailureRecord
from cosmos_curate.core.runtime.queues import Chunk
from cosmos_curate.core.runtime.wire import (
    CallReport,
    SetupReport,
    dump_stage,
    dumps,
    load_chunk,
    load_stage,
    loads,
    split_evenly,
)


def test_a_chunk_slice_yields_exactly_its_tasks() -> None:
    """A split chunk's tasks are its span of the shared pickled list, nothing more."""
    head, rest = Chunk(dumps(list(range(7))), 7).split(3)
    assert load_chunk(head) == [0, 1, 2]
    assert load_chunk(rest) == [3, 4, 5, 6]
    assert loads(dumps(())) == []


def test_outputs_split_into_parts_differing_by_at_most_one() -> None:
    """Outputs go downstream in parts of even size, in order, none lost."""
    parts = split_evenly(list(range(10)), 4)
    assert [len(p) for p in parts] == [3, 3, 2, 2]
    assert [t for p in parts for t in p] == list(range(10))
    assert split_evenly([], 0) == [[]]


def test_replies_and_the_stage_survive_pickling() -> None:
    """What a worker returns, and the stage it is sent, cross processes unchanged."""
    record = FailureRecord(stage="s", error="E: x", traceback="tb", attempts=2, task_repr="t")
    report = CallReport(
        tasks_in=3,
        part_counts=(1, 2),
        process_seconds=0.5,
        deserialize_seconds=0.01,
        deserialize_bytes=100,
        failures=(record,),
        retries=1,
        rss_bytes=10,
        cpu_percent=50.0,
        gap_seconds=0.002,
    )
    setup = SetupReport(pid=1, node_id="n", executable="py", gpu_ids=("0",), seconds=1.0)
    assert pickle.loads(pickle.dumps(report)) == report
    assert pickle.loads(pickle.dumps(setup)) == setup
    stage = load_stage(dump_stage(Stamp("a")))
    assert isinstance(stage, Stamp) and stage.key == "a"
