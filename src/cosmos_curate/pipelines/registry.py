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
from cosmos_curate.pipelines import catalog
from cosmos_curate.pipelines.sketch import DescribeFn


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
    describe: DescribeFn | None = None
    """`describe(options)`: what a run would do, found without running (`--dry-run`)."""


_REGISTRY: dict[str, PipelineEntry] = {}

PLUGINS_VARIABLE = "CURATE_PIPELINE_MODULES"
"""Comma-separated importable modules that call `register_pipeline` (user pipelines)."""


class PipelineUnavailableError(CurateError):
    """The pipeline exists but modules it needs are not installed."""


def register_pipeline(
    name: str,
    options_model: type[pydantic.BaseModel],
    summary: str | None = None,
    *,
    describe: DescribeFn | None = None,
) -> Callable[[PipelineFn], PipelineFn]:
    """Decorator registering `fn(options, run_options)` under `name`.

    A shipped pipeline may leave `summary` out: the catalog's line is used. `describe`
    (see `pipelines.sketch`) lets `--dry-run` show the run's stages and inputs.
    """

    def decorate(fn: PipelineFn) -> PipelineFn:
        info = catalog.builtin_info(name)
        text = summary if summary is not None else (info.summary if info else "")
        _REGISTRY[name] = PipelineEntry(name, options_model, fn, text, describe)
        return fn

    return decorate


@attrs.frozen
class PipelineListing:
    """One line of `curate pipeline list`: a pipeline and whether it can run here."""

    name: str
    summary: str
    missing: tuple[str, ...]
    install: str | None
    source: str
    """`builtin`, or the plugin module that registered it."""


def _load_plugins() -> None:
    """Import the plugin modules named in `CURATE_PIPELINE_MODULES` (each registers itself)."""
    named = os.environ.get(PLUGINS_VARIABLE, "").split(",")
    for module in filter(None, (m.strip() for m in named)):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            msg = f"{PLUGINS_VARIABLE} names {module!r}, which cannot be imported: {exc}"
            raise PipelineOptionsError(msg) from exc


def _import_builtin(info: catalog.PipelineInfo) -> PipelineEntry:
    missing = info.missing_modules()
    if missing:
        names = ", ".join(repr(m) for m in missing)
        msg = f"pipeline {info.name} needs the missing modules {names}: {info.install_command()}"
        raise PipelineUnavailableError(msg)
    try:
        importlib.import_module(info.module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.startswith("cosmos_curate"):
            raise
        msg = f"pipeline {info.name} needs the missing module {exc.name!r}: pip install {exc.name}"
        raise PipelineUnavailableError(msg) from exc
    return _REGISTRY[info.name]


def list_pipelines() -> list[PipelineListing]:
    """Every pipeline, shipped ones without importing them, plugins after importing theirs."""
    rows = [
        PipelineListing(i.name, i.summary, i.missing_modules(), i.install_command(), "builtin")
        for i in catalog.BUILTIN_PIPELINES
    ]
    _load_plugins()
    for name, entry in _REGISTRY.items():
        if catalog.builtin_info(name) is None:
            rows.append(PipelineListing(name, entry.summary, (), None, entry.run.__module__))
    return sorted(rows, key=lambda row: row.name)


def pipeline_names() -> list[str]:
    """The names `curate pipeline run` accepts (shipped ones and plugins), sorted."""
    return [row.name for row in list_pipelines()]


def get_pipeline(name: str) -> PipelineEntry:
    """The pipeline named `name`, its module imported; the error lists the known ones."""
    info = catalog.builtin_info(name)
    if info is not None:
        return _import_builtin(info)
    _load_plugins()
    if name in _REGISTRY:
        return _REGISTRY[name]
    known = ", ".join(pipeline_names()) or "none"
    msg = f"unknown pipeline {name!r}; known pipelines: {known} (see `curate pipeline list`)"
    raise UnknownPipelineError(msg)


def all_pipelines() -> dict[str, PipelineEntry]:
    """Every pipeline that can run here, each module imported (slow: prefer the listing)."""
    entries: dict[str, PipelineEntry] = {}
    for row in list_pipelines():
        if not row.missing:
            entries[row.name] = get_pipeline(row.name)
    return entries


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
    "PipelineListing",
    "PipelineOptionsError",
    "PipelineUnavailableError",
    "RunOptions",
    "UnknownPipelineError",
    "all_pipelines",
    "get_pipeline",
    "list_pipelines",
    "parse_options",
    "pipeline_names",
    "register_pipeline",
]
