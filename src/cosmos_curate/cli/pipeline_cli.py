"""`curate pipeline list` and `curate pipeline run NAME [options]`.

Each registered pipeline becomes its own `run` subcommand whose options come from its
pydantic options model, so `curate pipeline run NAME --help` lists them.
"""

from __future__ import annotations

import copy
import inspect
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import attrs
import pydantic
import typer
from rich.table import Table
from typer.core import TyperCommand, TyperGroup

from cosmos_curate.cli import common, dry_run_view, run_checks, run_config, run_record
from cosmos_curate.cli.common import configure_logging, out, stderr_is_terminal, wide_out
from cosmos_curate.cli.help_text import literal_help
from cosmos_curate.core.interfaces.results import PipelineResult
from cosmos_curate.core.utils import settings
from cosmos_curate.pipelines import new_package, registry
from cosmos_curate.presentation.progress_view import from_progress, render

app = typer.Typer(help="List and run registered pipelines.", no_args_is_help=True)
KW = inspect.Parameter.KEYWORD_ONLY


@app.command("list")
def list_pipelines(
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """List the pipelines, one line each (options: `curate pipeline run NAME --help`).

    Plugin pipelines show the package they come from; a plugin that fails to load is one
    `warning:` line and the others are still listed.
    """
    rows = registry.list_pipelines()
    warn_broken_plugins()
    if as_json:
        out.print_json(data=[attrs.asdict(row) for row in rows])
        return
    table = Table("name", "what it does", "status", "from")
    for row in rows:
        status = "ready" if row.install is None else f"needs: {row.install}"
        table.add_row(row.name, row.summary, status, _origin(row))
    wide_out().print(table)


def _origin(row: registry.PipelineListing) -> str:
    if row.package is not None:
        return f"{row.package} {row.version}"
    return "built-in" if row.source == "builtin" else f"module {row.source}"


_WARNED: set[str] = set()


def warn_broken_plugins() -> None:
    """One `warning:` line on stderr for each plugin that failed to load (each line once)."""
    for line in registry.plugin_problems():
        if line not in _WARNED:
            _WARNED.add(line)
            common.print_note(f"warning: {line}")


@app.command("new")
def new_pipeline(
    name: Annotated[str, typer.Argument(help="The pipeline's name, e.g. my-pipeline.")],
    path: Annotated[
        Path | None,
        typer.Option("--path", help="Folder to write the package into (default: ./NAME)."),
    ] = None,
) -> None:
    """Write a minimal pipeline package that installs as a plugin (`pip install -e DIR`)."""
    target = path if path is not None else Path(name)
    for file in new_package.write_package(name, target):
        out.print(str(file))
    common.print_note(f"next: pip install -e {target} && curate pipeline run {name}")


# ---- `pipeline run NAME`: one Typer command per pipeline, options from its model -------
def _run_option(
    name: str, annotation: Any, default: Any, help_text: str, *flags: str, **kwargs: Any
) -> inspect.Parameter:
    """A keyword parameter for a Typer option; the flag defaults to `--name-with-dashes`."""
    option = typer.Option(*(flags or ("--" + name.replace("_", "-"),)), help=help_text, **kwargs)
    return inspect.Parameter(name, KW, default=default, annotation=Annotated[annotation, option])


_RUN_PARAMETERS = [
    inspect.Parameter("ray_address", KW, default=None, annotation=common.RayAddressOption),
    _run_option(
        "require_gpu", bool, False,
        "Fail instead of running GPU stages on CPU when there is no GPU.",
    ),
    _run_option(
        "failures_path", Path | None, None, "Write failure records (JSON lines) here.",
        dir_okay=False,
    ),
    _run_option(
        "progress", bool | None, None,
        "Live progress table (default: on when stderr is a terminal).",
        "--progress/--no-progress",
    ),
    _run_option(
        "metrics_port", int | None, None,
        "Metrics export port of the embedded Ray cluster "
        f"(default {settings.DEFAULT_METRICS_PORT}, a free one if taken).",
    ),
    _run_option(
        "num_cpus", float | None, None,
        "Logical CPUs of the embedded Ray cluster (default: this machine's, or more when "
        "the stages' minimum workers need more).",
    ),
    _run_option(
        "num_gpus", float | None, None, "GPUs of the embedded Ray cluster (default: detected)."
    ),
    _run_option(
        "download_missing", bool, False, "Download missing model weights before running."
    ),
    _run_option(
        "model_weights_prefix", str | None, None,
        "Fetch missing weights from s3://bucket/prefix instead of the hub.",
    ),
    _run_option(
        "checkpoint_dir", Path | None, None,
        "Journal finished inputs here so an interrupted run can --resume.",
        file_okay=False,
    ),
    _run_option("resume", bool, False, "Skip inputs the --checkpoint-dir journal lists."),
    _run_option(
        "ignore_failures", bool, False,
        "Record tasks that fail every attempt and go on (exit 3), instead of stopping.",
    ),
    _run_option(
        "object_store_fraction", float | None, None,
        "Share (0-1] of the object store queued task data may fill (RunOptions; default 0.5).",
    ),
    _run_option(
        "stage_save", str | None, None,
        "Save sampled calls (inputs and outputs) of these stages, STAGE[,STAGE...], in the "
        "run folder for `curate stage replay`.",
    ),
    _run_option(
        "stage_save_sample_rate", float | None, None,
        "Share (0-1] of the --stage-save stages' calls saved, evenly spaced (default 1: all).",
    ),
    _run_option(
        "profile", str | None, None,
        "Profile every stage's workers: cpu (pyinstrument), memory (tracemalloc), gpu "
        "(torch.profiler, stages that declare a GPU), or several: cpu,memory. Files in the "
        "run folder's profiles/STAGE/; top functions in report.html.",
    ),
    _run_option(
        "otlp_endpoint", str | None, None,
        "Send one OpenTelemetry span per task per stage (queue wait, process time, retries, "
        "worker, node, run id) over OTLP/HTTP to this http(s) URL, e.g. "
        "http://127.0.0.1:4318 (headers: OTEL_EXPORTER_OTLP_HEADERS).",
    ),
    _run_option(
        "dry_run", bool, False,
        "Print the plan (stages, workers, weights, envs, inputs, outputs); start nothing.",
    ),
    _run_option(
        "config", Path | None, None,
        "Read options from this YAML or TOML file (keys: option names; the command line wins).",
        dir_okay=False,
    ),
    _run_option("print_config", bool, False, "Print the options as a --config file and stop."),
    _run_option("verbose", bool, False, "Show info logs.", "--verbose", "-v"),
    _run_option("as_json", bool, False, "Print the run's summary as one JSON object.", "--json"),
]  # fmt: skip
_RUN_OPTION_NAMES = {p.name for p in _RUN_PARAMETERS}
# CLI options named like a RunOptions field pass straight through; `--progress` and
# `--verbose` are the CLI's own.
_RUN_OPTION_FIELDS = _RUN_OPTION_NAMES & {f.name for f in attrs.fields(registry.RunOptions)}


RUN_PANEL = "Run (how and where)"
OTHER_PANEL = "Options"


def option_panel(model: type[pydantic.BaseModel], name: str) -> tuple[int, str]:
    """The help panel of a pipeline option, with the panel's position (`Options` last).

    A model groups its options with a class attribute `option_panels`: `(title, prefixes)`
    pairs in display order; an option goes to the panel of the longest prefix of its name.
    """
    panels: tuple[tuple[str, tuple[str, ...]], ...] = getattr(model, "option_panels", ())
    matches = [
        (len(prefix), index, title)
        for index, (title, prefixes) in enumerate(panels)
        for prefix in prefixes
        if name.startswith(prefix)
    ]
    if not matches:
        return len(panels), OTHER_PANEL
    _, index, title = max(matches)
    return index, title


def _alias_flags(name: str, field: pydantic.fields.FieldInfo) -> list[str]:
    """More flags for one option: the other names of its `AliasChoices` (upstream's names)."""
    alias = field.validation_alias
    choices = alias.choices if isinstance(alias, pydantic.AliasChoices) else []
    return ["--" + c.replace("_", "-") for c in choices if isinstance(c, str) and c != name]


def _option_parameter(
    name: str, field: pydantic.fields.FieldInfo, panel: str | None = None
) -> inspect.Parameter:
    """A Typer option for one pipeline option; None default so the model's default applies."""
    annotation: Any = field.annotation
    nullable = typing.get_origin(annotation) in (types.UnionType, typing.Union)
    if nullable:
        non_none = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = non_none[0] if len(non_none) == 1 else str
    flag = "--" + name.replace("_", "-")
    if nullable and annotation is bool:  # unset, on or off: --x / --no-x
        flag = f"{flag}/--no-{name.replace('_', '-')}"
    flags = [flag, *_alias_flags(name, field)]
    many = " (repeat the option for several)" if typing.get_origin(annotation) is list else ""
    if field.is_required():
        option = typer.Option(
            *flags, help=f"{field.description or ''}{many}", rich_help_panel=panel
        )
        return inspect.Parameter(name, KW, annotation=Annotated[annotation, option])
    default = field.get_default(call_default_factory=True)
    help_text = (field.description or "") + ("" if default is None else f" (default: {default})")
    option = typer.Option(*flags, help=help_text + many, show_default=False, rich_help_panel=panel)
    optional: Any = annotation | None
    return inspect.Parameter(name, KW, default=None, annotation=Annotated[optional, option])


def _in_panel(parameter: inspect.Parameter, panel: str) -> inspect.Parameter:
    """The same run option, shown in `panel` of the help."""
    annotation = parameter.annotation
    base, *extras = typing.get_args(annotation)
    moved = [copy.copy(e) for e in extras]
    for extra in moved:
        if hasattr(extra, "rich_help_panel"):
            extra.rich_help_panel = panel
    return parameter.replace(annotation=Annotated[(base, *moved)])  # type: ignore[valid-type]


def _pipeline_command(entry: registry.PipelineEntry) -> Callable[..., None]:
    def command(**values: Any) -> None:
        configure_logging(values["verbose"])
        raw = {k: v for k, v in values.items() if k not in _RUN_OPTION_NAMES and v is not None}
        try:
            options = registry.parse_options(entry, raw)
        except registry.PipelineOptionsError as exc:
            raise run_config.blame_file(exc, values["config"]) from exc
        run_values = {p.name: values[p.name] for p in _RUN_PARAMETERS}
        config = run_config.effective_config(options, run_values)
        if values["print_config"]:
            typer.echo(run_config.config_text(entry.name, config), nl=False)
            raise typer.Exit(0)
        if values["dry_run"]:
            fields = {k: v for k, v in values.items() if k in _RUN_OPTION_FIELDS}
            raise typer.Exit(dry_run_view.dry_run(entry, options, values, fields))
        progress = values["progress"]
        run = registry.RunOptions(  # the record checks its own fields (one error line, exit 2)
            **{k: v for k, v in values.items() if k in _RUN_OPTION_FIELDS},
            show_progress=stderr_is_terminal() if progress is None else progress,
        )
        port = run_checks.check_run(values)
        if port is not None:
            run = attrs.evolve(run, metrics_port=port)
        outputs_path = getattr(options, "output_path", None)
        code = run_record.run_and_record(
            entry.name, lambda run_dir: entry.run(options, attrs.evolve(run, run_dir=run_dir)),
            outputs_path,
            as_json=values["as_json"], verbose=values["verbose"], print_summary=print_summary,
            config=config,
        )  # fmt: skip
        raise typer.Exit(code)

    model = entry.options_model
    panels = getattr(model, "option_panels", None)
    placed = [
        (not field.is_required(), *option_panel(model, name), name, field)
        for name, field in model.model_fields.items()
    ]
    params = [  # required options first, then panel by panel
        _option_parameter(name, field, panel if panels else None)
        for _, _, panel, name, field in sorted(placed, key=lambda row: row[:2])
    ]
    if panels:  # the run options get their own panel after the pipeline's
        params += [_in_panel(p, RUN_PANEL) for p in _RUN_PARAMETERS]
    else:
        params += _RUN_PARAMETERS
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__name__ = entry.name.replace("-", "_")
    command.__doc__ = entry.summary
    return command


def _click_command(entry: registry.PipelineEntry) -> Any:
    """The click command Typer builds for one pipeline's run function."""
    single = typer.Typer(add_completion=False)
    single.command(entry.name, help=entry.summary)(_pipeline_command(entry))
    command = typer.main.get_command(single)
    command.name = entry.name
    return literal_help(command)


def _with_config(ctx: Any, args: list[str], command: Any) -> Any:
    """`command`, its defaults set from the `--config` file among `args` (if any)."""
    path = run_config.config_path(args[1:])
    if path is not None:  # the file's values become the command's click defaults
        defaults = run_config.config_defaults(command, path)
        ctx.default_map = {**(ctx.default_map or {}), args[0]: defaults}
    return command


class PipelineRunGroup(TyperGroup):
    """`pipeline run NAME`: each pipeline's module is imported only when NAME is resolved.

    Listing (help, completion) reads the catalog's summaries; an unknown name gets the list
    of known ones, a pipeline whose modules are missing the command that installs them.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        names = registry.pipeline_names()
        warn_broken_plugins()
        return names

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        listing = {row.name: row for row in registry.list_pipelines()}.get(cmd_name)
        if listing is None:
            return None
        summary = listing.summary + (f" (needs: {listing.install})" if listing.install else "")
        return TyperCommand(cmd_name, help=summary)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and not args[0].startswith("-"):
            try:
                entry = registry.get_pipeline(args[0])
            except registry.UnknownPipelineError:
                warn_broken_plugins()  # a broken plugin may be why the name is unknown
                raise
            return args[0], _with_config(ctx, args, _click_command(entry)), args[1:]
        return super().resolve_command(ctx, args)


run_app = typer.Typer(
    cls=PipelineRunGroup,
    help="Run a registered pipeline: curate pipeline run NAME [options].",
    no_args_is_help=True,
)
app.add_typer(run_app, name="run")


MAX_OUTPUT_ROWS = 20
MAX_CELL_CHARS = 120


def outputs_table(outputs: list[Any]) -> Table:
    """The first outputs, one column per task field (attrs tasks), long values cut."""
    first = outputs[0]
    fields = [f.name for f in attrs.fields(type(first))] if attrs.has(type(first)) else ["task"]
    shown = outputs[:MAX_OUTPUT_ROWS]
    title = f"outputs ({len(shown)} of {len(outputs)})" if len(outputs) > len(shown) else "outputs"
    table = Table(*fields, title=title, title_justify="left")
    for task in shown:
        values = [getattr(task, f) for f in fields] if fields != ["task"] else [task]
        table.add_row(*(_cell(v) for v in values))
    return table


def _cell(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def print_summary(name: str, result: PipelineResult) -> None:
    """Final table: per stage done/failed/speed, then outputs and where failures went."""
    if result.outputs:
        out.print(outputs_table(result.outputs))
    wide_out().print(render(from_progress(result.progress), title=f"{name}: finished"))
    if result.in_process:
        common.print_note("ran:      in this process, without Ray (--no-in-process: on Ray)")
    if result.report_path is not None:
        common.print_note(f"report:   {result.report_path}")
