"""Named pipelines with typed options, so `curate pipeline run NAME --opt ...` can run them.

A pipeline registers a function and a pydantic model of its options:

    @register_pipeline("hello-world", HelloWorldOptions, "GPT-2 completes two prompts")
    def hello_world(options: HelloWorldOptions, run: RunOptions) -> PipelineResult:
        return execute_pipeline(tasks, stages, run)

`RunOptions` (how to run: Ray address, GPU policy, progress, ...) is the runtime's one
declaration of the run options, re-exported here for pipeline modules. Pipelines of other
packages come in as plugins (`cosmos_curate.pipelines.plugins`); a plugin that fails to load
is recorded (`plugin_problems`) and the others still load.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import attrs
import pydantic

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.core.runtime.run_options import RunOptions
from cosmos_curate.pipelines import catalog, plugins
from cosmos_curate.pipelines.sketch import DescribeFn
from cosmos_curate.presentation.format import first_line


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
_ORIGINS: dict[str, plugins.Plugin] = {}
"""The plugin whose import registered each plugin pipeline."""
_PROBLEMS: dict[plugins.Plugin, str] = {}
"""Plugins that failed to load, with the error, one line each."""
_TRIED: set[plugins.Plugin] = set()

PLUGINS_VARIABLE = plugins.PLUGINS_VARIABLE


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
    package: str | None = None
    """The installed package (distribution) a plugin pipeline comes from."""
    version: str | None = None
    """That package's version."""


def _load(plugin: plugins.Plugin) -> None:
    """Import one plugin once; a failure is recorded in `_PROBLEMS`, never raised."""
    if plugin in _TRIED:
        return
    _TRIED.add(plugin)
    if plugin.name is not None and catalog.builtin_info(plugin.name) is not None:
        _PROBLEMS[plugin] = f"{plugin.name!r} is the name of a shipped pipeline"
        return
    before = dict(_REGISTRY)
    try:
        plugin.load()
    except Exception as exc:  # a broken plugin must not stop the others
        _PROBLEMS[plugin] = f"{type(exc).__name__}: {first_line(exc)}"
        return
    for name, entry in list(_REGISTRY.items()):
        info = catalog.builtin_info(name)
        if before.get(name) is entry or (info is not None and entry.run.__module__ == info.module):
            continue  # not new, or a shipped pipeline the plugin imported
        if info is None:
            _ORIGINS[name] = plugin
            continue
        # A plugin may not replace a shipped pipeline: keep (or leave unloaded) the shipped one.
        if name in before:
            _REGISTRY[name] = before[name]
        else:
            del _REGISTRY[name]
        _PROBLEMS[plugin] = f"it registers {name!r}, the name of a shipped pipeline"
    if plugin.name is not None and plugin.name not in _REGISTRY:
        _PROBLEMS.setdefault(
            plugin, f"importing {plugin.target} registers no pipeline named {plugin.name!r}"
        )


def _load_plugins() -> None:
    """Import every plugin: the variable's modules, then the entry points (each registers)."""
    for plugin in [*plugins.variable_plugins(), *plugins.entry_point_plugins()]:
        _load(plugin)


def plugin_problems() -> list[str]:
    """One line per plugin that failed to load so far: which one, and the error."""
    return [f"{plugin.describe()} not loaded: {error}" for plugin, error in _PROBLEMS.items()]


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
            origin = _ORIGINS.get(name, plugins.Plugin(entry.run.__module__))
            rows.append(
                PipelineListing(
                    name, entry.summary, (), None, entry.run.__module__,
                    origin.package, origin.version,
                )
            )  # fmt: skip
    return sorted(rows, key=lambda row: row.name)


def pipeline_names() -> list[str]:
    """The names `curate pipeline run` accepts (shipped ones and plugins), sorted."""
    return [row.name for row in list_pipelines()]


def get_pipeline(name: str) -> PipelineEntry:
    """The pipeline named `name`, its module imported; the error lists the known ones."""
    info = catalog.builtin_info(name)
    if info is not None:
        return _import_builtin(info)
    declared = [p for p in plugins.entry_point_plugins() if p.name == name]
    for plugin in declared:  # import only the plugin that declares this name
        _load(plugin)
        if plugin in _PROBLEMS:
            msg = f"pipeline {name!r} cannot load: {plugin.describe()}: {_PROBLEMS[plugin]}"
            raise PipelineUnavailableError(msg)
    if name not in _REGISTRY:
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
    "plugin_problems",
    "register_pipeline",
]
