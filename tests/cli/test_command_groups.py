"""The root command lists its groups without importing them, and the listing tells the truth."""

from __future__ import annotations

import re

import pytest
from tests.support import fresh_python

from cosmos_curate.cli.command_groups import GROUPS


@pytest.mark.parametrize("name", list(GROUPS))
def test_listed_help_is_the_groups_own(name: str) -> None:
    """`curate --help` shows, for each group, the help its own module declares."""
    command = GROUPS[name].build(name)
    assert command.name == name
    assert command.help.split("\n")[0].strip() == GROUPS[name].help


def test_version_and_help_import_no_command_group() -> None:
    """`curate --version` and `curate --help` load none of the groups' modules (fast start)."""
    code = (
        "import sys\n"
        "from cosmos_curate.cli.main import run\n"
        "assert run(['--version']) == 0 and run(['--help']) == 0\n"
        "print(sorted(m for m in sys.modules if m.endswith('_cli') or m == 'docker'))\n"
    )
    result = fresh_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    "argv", [["--help"], ["model", "--help"], ["pipeline", "run", "hello-world", "--help"]]
)
def test_help_placeholders_read_as_words(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Option values read `N`, `TEXT`, `PATH` (never `<list[str]>` or `<bool>`)."""
    from cosmos_curate.cli.main import run

    monkeypatch.setenv("COLUMNS", "80")
    assert run(argv) == 0
    text = capsys.readouterr().out
    assert "--help" in text
    for python_type in ("<bool>", "<int>", "<float>", "<str>", "<list[", "<Path>", "<path>"):
        assert python_type not in text


def test_video_split_help_at_80_columns_groups_options_and_never_cuts_a_name(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every option name is whole at 80 columns; required ones first, in titled panels."""
    from cosmos_curate.cli.main import run
    from cosmos_curate.pipelines.video.split.pipeline import VideoSplitOptions

    monkeypatch.setenv("COLUMNS", "80")
    assert run(["pipeline", "run", "video-split", "--help"]) == 0
    text = capsys.readouterr().out
    names = ["--" + name.replace("_", "-") for name in VideoSplitOptions.model_fields]
    cut = [n for n in names if not re.search(re.escape(n) + r"(\s|,|$)", text)]
    assert cut == []
    panels = [line.split("─ ")[1].split(" ─")[0] for line in text.splitlines() if "╭─ " in line]
    assert panels[1:3] == ["Input and output", "Splitting"] and panels[-1] == "Run (how and where)"
    assert text.index("--input-path") < text.index("--output-path") < text.index("--s3-profile")
