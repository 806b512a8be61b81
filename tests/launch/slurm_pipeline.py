"""`slurm-probe`: a test pipeline that records which Ray node processed each input.

Registered through `CURATE_PIPELINE_MODULES=tests.launch.slurm_pipeline`. Its one stage runs
exactly one worker per node (`num_workers_per_node=1`) and appends `INDEX NODE_IP RESTARTS`
to `<record_dir>/processed.txt` for every input, so a test sees which nodes worked and
which inputs each attempt of a requeued job processed. `--fail-at N` raises on input N;
`--delay S` is the time each input takes. `--meet N`: each worker signs in at set-up and
starts work once N workers have, so a test sees every node work however slowly one started.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import attrs
import pydantic

from cosmos_curate.core.interfaces.pipeline_interface import PipelineResult, execute_pipeline
from cosmos_curate.core.interfaces.stage_interface import (
    CuratorStage,
    CuratorStageResource,
    CuratorStageSpec,
    PipelineTask,
)
from cosmos_curate.pipelines.registry import RunOptions, register_pipeline


@attrs.define
class ProbeTask(PipelineTask):
    """One input and the node that processed it."""

    index: int
    node_ip: str = ""


class WhereStage(CuratorStage[ProbeTask, ProbeTask]):
    """Notes the node's address; raises on input `fail_at` when told to."""

    def __init__(self, record_dir: str, fail_at: int, delay_s: float, meet: int = 0) -> None:
        self.record_dir = record_dir
        self.fail_at = fail_at
        self.delay_s = delay_s
        self.meet = meet

    def stage_setup(self) -> None:
        """Sign in under `<record_dir>/workers`; with `meet`, wait for that many sign-ins."""
        workers = Path(self.record_dir) / "workers"
        workers.mkdir(exist_ok=True)
        (workers / f"{os.uname().nodename}-{os.getpid()}").touch()
        deadline = time.monotonic() + 300
        while len(list(workers.iterdir())) < self.meet and time.monotonic() < deadline:
            time.sleep(0.1)

    def process_data(self, tasks: list[ProbeTask]) -> list[ProbeTask] | None:
        import ray

        restarts = os.environ.get("SLURM_RESTART_COUNT", "0")
        for task in tasks:
            time.sleep(self.delay_s)
            if task.index == self.fail_at:
                msg = f"slurm-probe: failing on input {task.index} as asked"
                raise RuntimeError(msg)
            task.node_ip = ray.util.get_node_ip_address()
            with open(Path(self.record_dir) / "processed.txt", "a") as record:
                record.write(f"{task.index} {task.node_ip} {restarts}\n")
        return tasks

    @property
    def resources(self) -> CuratorStageResource:
        return CuratorStageResource(cpus=1.0)


class ProbeOptions(pydantic.BaseModel):
    """Options of `curate pipeline run slurm-probe`."""

    model_config = pydantic.ConfigDict(extra="forbid")

    count: int = pydantic.Field(default=16, description="inputs")
    record_dir: str = pydantic.Field(description="folder for processed.txt")
    fail_at: int = pydantic.Field(default=-1, description="input that raises (-1: none)")
    delay: float = pydantic.Field(default=0.2, description="seconds per input")
    meet: int = pydantic.Field(default=0, description="workers to wait for at set-up")


@register_pipeline("slurm-probe", ProbeOptions, "record the node of each input (tests)")
def run_probe(options: ProbeOptions, run: RunOptions) -> PipelineResult:
    """Run the probe stage, one worker per node."""
    stage = WhereStage(options.record_dir, options.fail_at, options.delay, options.meet)
    spec = CuratorStageSpec(stage, num_workers_per_node=1)
    tasks = [ProbeTask(index=i) for i in range(options.count)]
    return execute_pipeline(tasks, [spec], run)
