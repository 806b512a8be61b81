"""Pipelines from other packages, found without importing them.

A package registers its pipeline with an entry point in the group `cosmos_curate.pipelines`
(in its pyproject.toml):

    [project.entry-points."cosmos_curate.pipelines"]
    my-pipeline = "my_pipeline.pipeline"

The entry point's name is the pipeline's name; importing its value (a module, or
`module:attribute`) calls `register_pipeline` for that name. Modules named in the variable
`CURATE_PIPELINE_MODULES` (comma-separated) are plugins too, for code that is not installed.
Finding plugins reads the installed packages' metadata only (`importlib.metadata`); the
registry imports a plugin when its pipeline runs or when every pipeline is listed.
"""

from __future__ import annotations

import importlib
from importlib import metadata

import attrs

from cosmos_curate.core.utils import settings

ENTRY_POINT_GROUP = "cosmos_curate.pipelines"
PLUGINS_VARIABLE = settings.PIPELINE_MODULES_VAR
"""Comma-separated importable modules that call `register_pipeline` (user pipelines)."""


@attrs.frozen
class Plugin:
    """A module that registers pipelines, known before it is imported."""

    target: str
    """What to import: `module` or `module:attribute`."""
    name: str | None = None
    """The pipeline the entry point declares; None for a module of `CURATE_PIPELINE_MODULES`."""
    package: str | None = None
    """The distribution that declares the entry point."""
    version: str | None = None

    def describe(self) -> str:
        """Where the plugin comes from, for warnings and errors (one line)."""
        if self.name is None:
            return f"module {self.target!r} named in {PLUGINS_VARIABLE}"
        where = f"{self.package} {self.version}" if self.package else "an unknown package"
        return f"plugin {self.name!r} ({self.target}, from {where})"

    def load(self) -> None:
        """Import the module (and look up the attribute); raises whatever the import raises."""
        module_name, _, attribute = self.target.partition(":")
        target: object = importlib.import_module(module_name.strip())
        for part in filter(None, attribute.strip().split(".")):
            target = getattr(target, part)


def entry_point_plugins() -> list[Plugin]:
    """The plugins installed packages declare, by entry point name (metadata only)."""
    found: dict[tuple[str, str], Plugin] = {}
    for point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        plugin = Plugin(point.value, point.name)
        if point.dist is not None:
            plugin = attrs.evolve(plugin, package=point.dist.name, version=point.dist.version)
        # A package on sys.path twice shows its entry points twice: the first one wins.
        found.setdefault((point.name, point.value), plugin)
    return sorted(found.values(), key=lambda plugin: plugin.name or "")


def variable_plugins() -> list[Plugin]:
    """The modules `CURATE_PIPELINE_MODULES` names, in order."""
    return [Plugin(module) for module in dict.fromkeys(settings.pipeline_modules())]
