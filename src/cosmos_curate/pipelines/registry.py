"""Named pipelines with typed options, so `curate pipeline run NAME --opt ...` can run them.

A pipeline registers a function and a pydantic model of its options:

    @register_pipeline("hello-world", HelloWorldOptions, "GPT-2 completes two prompts")
    def hello_world(options: HelloWorldOptions, run: RunOptions) -> PipelineResult:
        return execute_pipeline(tasks, stages, **run.as_kwargs())

`RunOptions` (how to run: Ray address, GPU policy, progress, ...) is the runtime's one
declaration of the run options, re-exported here for pipeline modules.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

import attrs
import pydantic

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.runtime.run_options import RunOptions


class UnknownPipelineError(CurateError):
    """No pipeline is registered under that name."""


class PipelineOptionsError(CurateError):
    """A pipeline option is unknown or has a bad value."""


PipelineFn = Callable[[Any, RunOptions], Any]


@attrs.frozen
class PipelineEntry:
    """A registered pipeline."""

    name: str
    options_model: type[pydantic.BaseModel]
    run: PipelineFn
    summary: str


_REGISTRY: dict[str, PipelineEntry] = {}

# Modules that register the shipped pipelines; imported on first lookup.
_BUILTIN_MODULES = (
    "cosmos_curate.pipelines.examples.hello_world_pipeline",
    "cosmos_curate.pipelines.examples.demo_task_chunking_pipeline",
)
# Pipelines whose optional dependencies may be missing (pip extras); plus user plugins named
# in CURATE_PIPELINE_MODULES (comma-separated importable modules that call register_pipeline).
_EXTRA_MODULES: dict[str, str] = {
    "cosmos_curate.pipelines.video.split_pipeline": "pip install 'cosmos-curate[video]'",
    "cosmos_curate.pipelines.video.dedup.pipeline": "pip install 'cosmos-curate[video]'",
    "cosmos_curate.pipelines.video.shard.pipeline": "pip install 'cosmos-curate[video]'",
}
_UNAVAILABLE: dict[str, str] = {}


def register_pipeline(
    name: str, options_model: type[pydantic.BaseModel], summary: str
) -> Callable[[PipelineFn], PipelineFn]:
    """Decorator registering `fn(options, run_options)` under `name`."""

    def decorate(fn: PipelineFn) -> PipelineFn:
        _REGISTRY[name] = PipelineEntry(name, options_model, fn, summary)
        return fn

    return decorate


def _load_builtins() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    for module, install_hint in _EXTRA_MODULES.items():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            _UNAVAILABLE[module] = f"needs the missing module {exc.name!r} ({install_hint})"
    plugins = os.environ.get("CURATE_PIPELINE_MODULES", "")
    for module in filter(None, (m.strip() for m in plugins.split(","))):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            msg = f"CURATE_PIPELINE_MODULES names {module!r}, which cannot be imported: {exc}"
            raise PipelineOptionsError(msg) from exc


def all_pipelines() -> dict[str, PipelineEntry]:
    """Every registered pipeline by name."""
    _load_builtins()
    return dict(sorted(_REGISTRY.items()))


def get_pipeline(name: str) -> PipelineEntry:
    """The pipeline named `name`; the error lists the known ones."""
    pipelines = all_pipelines()
    if name not in pipelines:
        known = ", ".join(pipelines) or "none"
        missing = "".join(f"; {m.rsplit('.', 1)[-1]} {why}" for m, why in _UNAVAILABLE.items())
        msg = (
            f"unknown pipeline {name!r}; known pipelines: {known} (see `curate pipeline list`)"
            f"{missing}"
        )
        raise UnknownPipelineError(msg)
    return pipelines[name]


def parse_options(entry: PipelineEntry, raw: dict[str, Any]) -> pydantic.BaseModel:
    """Validate raw option values against the pipeline's options model."""
    try:
        return entry.options_model.model_validate(raw)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        text = str(first["msg"]).removeprefix("Value error, ")
        if not field:  # a check across fields: its message names the options itself
            msg = f"pipeline {entry.name}: {text}"
        else:
            msg = f"pipeline {entry.name}: option --{field.replace('_', '-')}: {text}"
        raise PipelineOptionsError(msg) from exc


__all__ = [
    "PipelineEntry",
    "PipelineFn",
    "PipelineOptionsError",
    "RunOptions",
    "UnknownPipelineError",
    "all_pipelines",
    "get_pipeline",
    "parse_options",
    "register_pipeline",
]
