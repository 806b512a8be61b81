"""`curate pipeline run NAME --config run.yaml`: a run's options from a YAML or TOML file.

The file maps option names without their dashes (`max-new-tokens` or `max_new_tokens`) to
values, for the pipeline's options and the run's alike. Its values become the command's
click `default_map`, so the command line wins over the file and the file over the defaults.
A key no option has, or a value of the wrong type, is one error naming the key and the file.
`--print-config` writes the effective options back as YAML, a file that reproduces the run.
"""

from __future__ import annotations

import tomllib
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
import yaml

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.presentation.format import first_line

NOT_IN_FILE = frozenset({"config", "print_config", "dry_run"})
"""Options a config file does not set (they say what to do with the file, not the run)."""


class RunConfigError(CurateError):
    """A `--config` file cannot be read, or it has an unknown key or a wrong-typed value."""


def config_path(args: Sequence[str]) -> Path | None:
    """The `--config FILE` among a command's arguments (the last one wins, as click does)."""
    found = None
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--config" and index + 1 < len(args):
            found = args[index + 1]
        elif arg.startswith("--config="):
            found = arg.partition("=")[2]
    return Path(found) if found is not None else None


def read_config(path: Path) -> dict[str, Any]:
    """The file's mapping: TOML for `.toml`, YAML otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"--config {path}: cannot read it: {getattr(exc, 'strerror', None) or exc}"
        raise RunConfigError(msg) from exc
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        detail = first_line(exc)
        msg = f"--config {path}: not valid {'TOML' if path.suffix == '.toml' else 'YAML'}: {detail}"
        raise RunConfigError(msg) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        msg = f"--config {path}: expected a mapping of option names to values"
        raise RunConfigError(msg)
    return data


def config_defaults(command: Any, path: Path) -> dict[str, Any]:
    """The file's values keyed by the command's parameter names, each checked for its type.

    `command` is the click command Typer built for the pipeline.
    """
    options = _options_by_key(command)
    values: dict[str, Any] = {}
    for key, value in read_config(path).items():
        option = options.get(str(key).replace("-", "_"))
        if option is None:
            msg = (
                f"--config {path}: unknown key {key!r} (see "
                f"`curate pipeline run {command.name} --help` for the options)"
            )
            raise RunConfigError(msg)
        if value is not None:  # null: the option's default
            values[str(option.name)] = _checked(command, option, str(key), value, path)
    return values


def _options_by_key(command: Any) -> dict[str, Any]:
    """Every file key an option answers to: its name and its `--long` flags, dashes as `_`."""
    keys: dict[str, Any] = {}
    for param in command.params:
        if param.param_type_name != "option" or param.name in NOT_IN_FILE:
            continue
        keys[str(param.name)] = param
        for flag in param.opts:
            if flag.startswith("--"):
                keys.setdefault(flag[2:].replace("-", "_"), param)
    return keys


_KINDS: dict[type, tuple[str, tuple[type, ...]]] = {
    bool: ("true or false", (bool,)),
    int: ("an integer", (int,)),
    float: ("a number", (int, float)),
}


def _expected(annotation: Any) -> tuple[str, tuple[type, ...]]:
    """What one value of an option typed `annotation` must be, in words and Python types."""
    return _KINDS.get(annotation, ("a string", (str,)))


def _checked(command: Any, option: Any, key: str, value: Any, path: Path) -> Any:
    """`value` as the command line would give it, or an error naming the key and the file."""
    annotation = option.type_descriptor.annotation
    many = typing.get_origin(annotation) is list
    words, types = _expected(typing.get_args(annotation)[0] if many else annotation)
    items = value if isinstance(value, list) and many else [value]
    for item in items:
        if (isinstance(item, bool) and bool not in types) or not isinstance(item, types):
            expected = f"a list of values each {words}" if many else words
            msg = f"--config {path}: key {key!r}: expected {expected}, got {item!r}"
            raise RunConfigError(msg)
    given = items if many else value
    try:
        with typer.Context(command) as ctx:
            option.process_value(ctx, given)
    except typer.BadParameter as exc:
        msg = f"--config {path}: key {key!r}: {exc.format_message()}"
        raise RunConfigError(msg) from exc
    return given


def effective_config(options: Any, run_values: dict[str, Any]) -> dict[str, Any]:
    """Every option of the run as a file would hold it: the pipeline's, then the run's."""
    config: dict[str, Any] = dict(options.model_dump(mode="json"))
    for name, value in run_values.items():
        if name in NOT_IN_FILE or value is None:
            continue
        config[name] = str(value) if isinstance(value, Path) else value
    return config


def config_text(name: str, config: dict[str, Any]) -> str:
    """The configuration as YAML, headed by the command that runs it."""
    head = f"# curate pipeline run {name} --config THIS_FILE\n"
    return head + str(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


__all__ = [
    "NOT_IN_FILE",
    "RunConfigError",
    "blame_file",
    "config_defaults",
    "config_path",
    "config_text",
    "effective_config",
    "read_config",
]


def blame_file(exc: CurateError, path: Path | None) -> CurateError:
    """`exc` (a bad option value) naming `path` too when the option's value came from it."""
    if path is None:
        return exc
    keys = {str(key).replace("_", "-") for key in read_config(path)}
    if any(f"--{key}:" in str(exc) for key in keys):
        return type(exc)(f"{exc} (set in --config {path})")
    return exc
