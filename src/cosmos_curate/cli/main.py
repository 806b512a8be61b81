"""The `curate` command: wires the command groups and turns errors into one line and a code.

Exit codes are the table in `cosmos_curate.cli.errors`: 2 with one `error:` line for
anything rejected before work starts (Typer's usage errors included, instead of its
multi-line panel), 1 for errors during a run, 130 on Ctrl-C and 143 on SIGTERM, each with
one line. Unknown exceptions are bugs and keep their traceback; `CURATE_DEBUG=1` shows the
traceback of known ones too, before their `error:` line, and leaves their exit code as is.
"""

from __future__ import annotations

import signal
import sys
import traceback
from importlib import metadata
from types import FrameType
from typing import Annotated

import typer

# Typer vendors its own copy of click (typer._click); its exceptions are the ones raised.
try:
    from typer._click import exceptions as click
except ImportError:  # pragma: no cover - older Typer on the real click
    from click import exceptions as click  # type: ignore[no-redef]

from cosmos_curate.cli import errors
from cosmos_curate.cli.command_groups import LazyGroups
from cosmos_curate.cli.common import err, print_error, print_note
from cosmos_curate.cli.exit import exit_now
from cosmos_curate.cli.help_text import literal_help
from cosmos_curate.core.utils import settings

app = typer.Typer(
    name="curate",
    help="Curate large datasets with AI models on Ray clusters.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=LazyGroups,
)


def version() -> str:
    """The installed package's version."""
    try:
        return metadata.version("cosmos-curate")
    except metadata.PackageNotFoundError:
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        print(f"curate {version()}")
        raise typer.Exit(0)


@app.callback()
def _root(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_show_version, help="Print the version."
        ),
    ] = False,
) -> None:
    """Curate large datasets with AI models on Ray clusters."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Later SIGTERMs during clean-up are ignored: the first one already unwinds.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise errors.Terminated


def _usage_error(exc: click.UsageError) -> int:
    if isinstance(exc, click.NoArgsIsHelpError) and exc.ctx is not None:
        print(exc.ctx.get_help())  # a bare `curate GROUP`: the help, as the user wanted
        return errors.EXIT_REJECTED
    where = exc.ctx.command_path if exc.ctx is not None else "curate"
    message = " ".join(exc.format_message().split())
    print_error(f"{message} (see `{where} --help`)")
    return errors.EXIT_REJECTED


def _signalled(exc: BaseException) -> int:
    if isinstance(exc, errors.Terminated):
        print_note("terminated")
        return errors.EXIT_TERMINATED
    print_note("interrupted")
    return errors.EXIT_INTERRUPTED


def run(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (default: `sys.argv[1:]`) and return its exit code."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        command = literal_help(typer.main.get_command(app))
        code = command.main(args=argv, prog_name="curate", standalone_mode=False)
    except click.UsageError as exc:
        return _usage_error(exc)
    except (KeyboardInterrupt, typer.Abort):
        code = errors.EXIT_INTERRUPTED
    except (errors.Terminated, SystemExit) as exc:
        # SystemExit(15): Ray's own SIGTERM handler, active while ray.init runs.
        if isinstance(exc, SystemExit) and exc.code != signal.SIGTERM:
            raise
        return _signalled(errors.Terminated())
    except click.ClickException as exc:
        print_error(" ".join(exc.format_message().split()))
        return errors.EXIT_REJECTED
    except Exception as exc:
        signal_exc = errors.signal_behind(exc)
        if signal_exc is not None:
            return _signalled(signal_exc)
        known = errors.classify(exc)
        if known is None:
            raise
        if settings.debug():  # the traceback too; the exit code stays
            traceback.print_exc(file=sys.stderr)
        print_error(known.message)
        return known.exit_code
    finally:
        signal.signal(signal.SIGTERM, previous)
    if code == errors.EXIT_INTERRUPTED:  # Typer turns Ctrl-C into this code, silently
        print_note("interrupted")
    return code if isinstance(code, int) else errors.EXIT_OK


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: exit with `run`'s code.

    Given no `argv` (the `curate` command, `python -m cosmos_curate.cli.main`), the process
    then ends at once (`exit_now`); a caller that passes `argv` gets `SystemExit`.
    """
    code = run(argv)
    err.file.flush()
    if argv is None:
        exit_now(code)
    sys.exit(code)


if __name__ == "__main__":
    main()
