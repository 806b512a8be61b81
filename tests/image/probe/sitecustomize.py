"""Registers the `env-probe` pipeline in every Python that has this folder on PYTHONPATH.

The Docker test mounts this folder into the image and sets PYTHONPATH, so that the image's
own `curate pipeline run env-probe` finds the pipeline without changing the image.
"""

from __future__ import annotations

import sys

import pydantic
from curate_image_probe import ProbeStage, ProbeTask

from cosmos_curate.core.interfaces.pipeline_interface import PipelineResult, execute_pipeline
from cosmos_curate.pipelines.registry import RunOptions, register_pipeline


class ProbeOptions(pydantic.BaseModel):
    """Options of `curate pipeline run env-probe`."""

    model_config = pydantic.ConfigDict(extra="forbid")
    tasks: int = pydantic.Field(default=2, description="number of tasks")


@register_pipeline("env-probe", ProbeOptions, "report the interpreter of a stage in env probe")
def run_probe(options: ProbeOptions, run: RunOptions) -> PipelineResult:
    """Run the probe stage and print one line per task: driver, setup and process interpreters."""
    result = execute_pipeline(
        [ProbeTask(index=i) for i in range(options.tasks)], [ProbeStage()], run
    )
    for task in result.outputs:
        print(
            f"ENV_PROBE driver={sys.executable} setup={task.setup_executable} "
            f"process={task.process_executable}",
            flush=True,
        )
    return result
