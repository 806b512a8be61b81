"""The `curate` command groups, each imported only when the command line names it.

`curate --version` and `curate --help` import none of them; `curate model list` imports
the model group alone (not Docker's SDK, Ray's cluster code or any pipeline).
"""

from __future__ import annotations

import importlib
from typing import Any

import attrs
import typer
from typer.core import TyperCommand, TyperGroup

from cosmos_curate.cli.help_text import literal_help


@attrs.frozen
class CommandGroup:
    """A top-level command: its module, the Typer app (or command function) in it, its help."""

    module: str
    attribute: str
    help: str
    is_group: bool = True

    def build(self, name: str) -> Any:
        """Import the module and build the click command Typer makes of it."""
        target = getattr(importlib.import_module(self.module), self.attribute)
        command: Any
        if self.is_group:
            command = typer.main.get_group(target)
        else:
            single = typer.Typer(add_completion=False)
            single.command(name)(target)
            command = typer.main.get_command(single)
        command.name = name
        return literal_help(command)


_CLI = "cosmos_curate.cli."
GROUPS: dict[str, CommandGroup] = {
    "pipeline": CommandGroup(_CLI + "pipeline_cli", "app", "List and run registered pipelines."),
    "cluster": CommandGroup(
        _CLI + "cluster_cli",
        "app",
        "Start, inspect and stop a loopback multi-node Ray cluster on this machine.",
    ),
    "image": CommandGroup(_CLI + "image_cli", "app", "Build and list the multi-env Docker image."),
    "model": CommandGroup(
        _CLI + "model_cli", "app", "List the registered models and download their weights."
    ),
    "metrics": CommandGroup(_CLI + "metrics_cli", "app", "Watch a running pipeline's metrics."),
    "k8s": CommandGroup(_CLI + "k8s_cli", "app", "Render Kubernetes (KubeRay) manifests."),
    "local": CommandGroup(
        _CLI + "launch_cli", "app", "Run commands in the built image on this machine."
    ),
    "slurm": CommandGroup(
        _CLI + "slurm_cli", "app", "Run commands on a Ray cluster inside a Slurm job."
    ),
    "stage": CommandGroup(
        _CLI + "stage_cli", "app", "Replay a stage a run saved (--stage-save), without Ray."
    ),
    "report": CommandGroup(
        _CLI + "report_cli",
        "report",
        "Render a run's report page (runs side by side when several are given).",
        is_group=False,
    ),
    "view": CommandGroup(
        _CLI + "view_cli",
        "view",
        "Review an output (clips, captions, scores, dropped clips, failures) in a browser.",
        is_group=False,
    ),
}


class LazyGroups(TyperGroup):
    """The root group: listing uses the table's help; naming a command imports its module."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(GROUPS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        group = GROUPS.get(cmd_name)
        return None if group is None else TyperCommand(cmd_name, help=group.help)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in GROUPS:
            return args[0], GROUPS[args[0]].build(args[0]), args[1:]
        return super().resolve_command(ctx, args)
