"""`curate stage replay RUN --stage NAME`: run a saved stage here, no Ray, and diff its outputs.

A run saves a stage's calls with `curate pipeline run ... --stage-save NAME`; replay runs
that stage's setup and `process_data` in this process (print statements and debuggers
work; `--pdb` stops in the debugger where the stage raised) and prints where its outputs
differ from the saved ones. With `--compare` the difference is the exit code: 0 equal
(within `--atol`), 3 different; 1 whenever the stage itself raised.
"""

from __future__ import annotations

import pdb
from typing import Annotated

import typer

from cosmos_curate.cli import errors
from cosmos_curate.cli.common import configure_logging, out, print_note
from cosmos_curate.core.runtime.errors import StageReplayError
from cosmos_curate.core.runtime.replay import CallReplay, find_stage_save, replay_stage
from cosmos_curate.core.utils.preflight import check_finite

app = typer.Typer(
    help="Replay a stage a run saved (--stage-save), without Ray.", no_args_is_help=True
)

MAX_DIFF_LINES = 5
EXAMPLES = """
Examples:
  curate pipeline run hello-world --stage-save WordCountStage
  curate stage replay last --stage WordCountStage
  curate stage replay last --stage WordCountStage --compare --atol 1e-6
  curate stage replay RUN_ID --stage WordCountStage --index 0 --pdb
"""


@app.command("replay", epilog=EXAMPLES)
def replay(
    run: Annotated[
        str,
        typer.Argument(
            help="The run: its id (under CURATE_RUNS_DIR), its folder, or `last`.",
            show_default=False,
            metavar="RUN",
        ),
    ],
    *,
    stage: Annotated[
        str,
        typer.Option(
            "--stage", help="The saved stage to replay.", show_default=False, metavar="NAME"
        ),
    ],
    index: Annotated[
        int | None, typer.Option("--index", help="Replay only this saved call (default: all).")
    ] = None,
    use_pdb: Annotated[
        bool, typer.Option("--pdb", help="Open the debugger where the stage raises.")
    ] = False,
    compare: Annotated[
        bool,
        typer.Option("--compare", help="Exit 3 when outputs differ from the saved ones."),
    ] = False,
    atol: Annotated[
        float, typer.Option("--atol", help="Numbers closer than this count as equal.")
    ] = 0.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show info logs.")] = False,
) -> None:
    """Run a saved stage's setup and process_data here, no Ray; diff outputs with the saved."""
    configure_logging(verbose)
    check_finite(atol, "--atol", minimum=0)
    folder = find_stage_save(run, stage)
    print_note(f"replaying {stage} from {folder}")
    try:
        result = replay_stage(folder, index=index, atol=atol, on_call=_print_call)
    except StageReplayError as exc:
        if use_pdb and exc.__cause__ is not None:
            pdb.post_mortem(exc.__cause__.__traceback__)
        raise
    if result.source_changed:
        print_note(f"note: the source of {stage} changed since the run saved it")
    differing = sum(1 for call in result.calls if call.differences)
    verdict = "differ" if differing else "equal the saved ones"
    out.print(
        f"{stage}: {len(result.calls)} call(s) replayed; outputs {verdict}",
        soft_wrap=True,
        markup=False,
    )
    if compare and differing:
        raise typer.Exit(errors.EXIT_FAILED_INPUTS)


def _print_call(call: CallReplay) -> None:
    counts = f"{call.tasks_in} task(s) in, {call.new_out} out (saved: {call.saved_out})"
    if not call.differences:
        out.print(f"call {call.index}: {counts}: same as saved", soft_wrap=True, markup=False)
        return
    out.print(
        f"call {call.index}: {counts}: {len(call.differences)} difference(s)",
        soft_wrap=True,
        markup=False,
    )
    for difference in call.differences[:MAX_DIFF_LINES]:
        out.print(f"  {difference}", soft_wrap=True, markup=False)
    hidden = len(call.differences) - MAX_DIFF_LINES
    if hidden > 0:
        out.print(f"  ... and {hidden} more", soft_wrap=True, markup=False)
