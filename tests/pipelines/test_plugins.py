"""Pipelines from other packages, as a user packs them: `curate pipeline new`, `pip install -e`.

The package `curate pipeline new` writes is installed for real, with pip, into a venv made
here (no pip of its own; a .pth line gives it this project's packages), and `curate` runs
with that venv's Python: `pipeline list` shows the plugin and its package, `pipeline run`
runs it on an embedded Ray, and the package's own test passes under pytest. Broken plugins
(an import that raises, an entry point to a missing object, a module that registers nothing,
a bad `CURATE_PIPELINE_MODULES` module) are one warning line each; the rest still works.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from tests.support import curate, free_port

NAME = "demo-plugin"


@attrs.frozen
class PluginVenv:
    """A venv that sees this project's packages, with the generated package installed."""

    python: Path
    package: Path
    root: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a `curate` run in this venv: its own runs folder, no Ray address."""
        env = {
            **os.environ,
            "CURATE_RUNS_DIR": str(self.root / "runs"),
            "RAY_AUTH_MODE": "disabled",
            "COLUMNS": "200",
            **extra,
        }
        env.pop("RAY_ADDRESS", None)
        if "CURATE_PIPELINE_MODULES" not in extra:
            env.pop("CURATE_PIPELINE_MODULES", None)
        return env

    def curate(
        self, *args: str, timeout: float = 240, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        """`curate ARGS` with this venv's Python."""
        return subprocess.run(
            [str(self.python), "-m", "cosmos_curate.cli.main", *args],
            env=self.env(**extra), capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip


def _venv_with_project_packages(folder: Path) -> Path:
    """A venv (no pip of its own) whose site folder also loads this interpreter's packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    ours = sysconfig.get_paths()["purelib"]
    # addsitedir (not a plain path line) so that the project's own .pth files (its editable
    # install among them) are read as well.
    (Path(purelib) / "_curate_project.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return python


def _pip_install(python: Path, *args: str) -> None:
    """pip, run by `python`, offline: the build uses the setuptools already installed."""
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def plugin_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PluginVenv]:
    """`curate pipeline new demo-plugin`, then `pip install -e` of it into a fresh venv."""
    root = tmp_path_factory.mktemp("plugin")
    package = root / "packages" / NAME
    made = curate("pipeline", "new", NAME, "--path", str(package), cwd=root, timeout=240)
    assert made.returncode == 0, made.stderr
    assert f"pip install -e {package}" in made.stderr
    python = _venv_with_project_packages(root / "venv")
    _pip_install(python, "-e", str(package))
    yield PluginVenv(python, package, root)


def test_new_writes_a_package_with_an_entry_point(plugin_venv: PluginVenv) -> None:
    """The package has its pyproject (the entry point), the pipeline module and a test."""
    package = plugin_venv.package
    pyproject = (package / "pyproject.toml").read_text()
    assert '[project.entry-points."cosmos_curate.pipelines"]' in pyproject
    assert 'demo-plugin = "demo_plugin.pipeline"' in pyproject
    code = (package / "src" / "demo_plugin" / "pipeline.py").read_text()
    assert '@register_pipeline("demo-plugin"' in code
    assert "CuratorStageSpec(" in code
    assert (package / "tests" / "test_pipeline.py").is_file()


def test_list_shows_the_plugin_and_its_package(plugin_venv: PluginVenv) -> None:
    """`pipeline list` (table and --json) names the plugin's package and version."""
    table = plugin_venv.curate("pipeline", "list", timeout=120)
    assert table.returncode == 0, table.stderr
    (line,) = [line for line in table.stdout.splitlines() if f"│ {NAME} " in line]
    assert "demo-plugin 0.1.0" in line
    assert "warning:" not in table.stderr
    listed = plugin_venv.curate("pipeline", "list", "--json", timeout=120)
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows[NAME]["package"] == NAME and rows[NAME]["version"] == "0.1.0"
    assert rows[NAME]["source"] == "demo_plugin.pipeline"
    assert rows["hello-world"]["source"] == "builtin"


@pytest.mark.integration
def test_run_runs_the_plugin_on_embedded_ray(plugin_venv: PluginVenv) -> None:
    """`curate pipeline run demo-plugin` right after the install: both stages, exit 0."""
    result = plugin_venv.curate(
        "pipeline", "run", NAME, "--line", "hello plugin world", "--num-cpus", "2",
        "--no-progress", "--metrics-port", str(free_port()),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "HELLO PLUGIN WORLD" in result.stdout
    assert "CountWordsStage" in result.stdout and "ShoutStage" in result.stdout
    assert "outputs 1" in result.stdout


@pytest.mark.integration
def test_the_generated_test_passes_under_pytest(plugin_venv: PluginVenv) -> None:
    """The package's own test runs its two stages on an embedded Ray and passes."""
    result = subprocess.run(
        [str(plugin_venv.python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=plugin_venv.package, env=plugin_venv.env(), capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout


BROKEN_PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "broken-plugin"
version = "2.0"

[project.entry-points."cosmos_curate.pipelines"]
raises-on-import = "broken_plugin.raises"
missing-object = "broken_plugin.quiet:no_such_object"
registers-nothing = "broken_plugin.quiet"

[tool.setuptools]
packages = ["broken_plugin"]
"""


def test_broken_plugins_are_one_warning_each(plugin_venv: PluginVenv, tmp_path: Path) -> None:
    """Each broken plugin is one `warning:` line; the built-ins and the good plugin still list.

    Running a shipped pipeline never imports a plugin; running the broken one is one error.
    """
    target = tmp_path / "site"
    source = tmp_path / "broken"
    (source / "broken_plugin").mkdir(parents=True)
    (source / "broken_plugin" / "__init__.py").write_text("")
    (source / "broken_plugin" / "raises.py").write_text("raise RuntimeError('plugin bug 42')\n")
    (source / "broken_plugin" / "quiet.py").write_text("VALUE = 1\n")
    (source / "pyproject.toml").write_text(BROKEN_PYPROJECT)
    _pip_install(plugin_venv.python, "--target", str(target), str(source))
    extra = {"PYTHONPATH": str(target), "CURATE_PIPELINE_MODULES": "no_such_plugin_mod"}

    listed = plugin_venv.curate("pipeline", "list", timeout=120, **extra)
    assert listed.returncode == 0, listed.stderr
    warnings = [line for line in listed.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 4, listed.stderr
    by_name = {
        name: [w for w in warnings if name in w]
        for name in (
            "raises-on-import",
            "missing-object",
            "registers-nothing",
            "no_such_plugin_mod",
        )
    }
    assert all(len(lines) == 1 for lines in by_name.values()), warnings
    assert "RuntimeError: plugin bug 42" in by_name["raises-on-import"][0]
    assert "broken-plugin 2.0" in by_name["raises-on-import"][0]
    assert "AttributeError" in by_name["missing-object"][0]
    assert "registers no pipeline" in by_name["registers-nothing"][0]
    assert "ModuleNotFoundError" in by_name["no_such_plugin_mod"][0]
    for name in ("hello-world", "video-split", NAME):
        assert f"│ {name} " in listed.stdout

    shipped = plugin_venv.curate("pipeline", "run", "demo-task-chunking", "--help", **extra)
    assert shipped.returncode == 0, shipped.stderr
    assert "warning:" not in shipped.stderr  # no plugin was imported

    broken = plugin_venv.curate("pipeline", "run", "raises-on-import", **extra)
    errors = [line for line in broken.stderr.splitlines() if line.startswith("error:")]
    assert broken.returncode == 2, broken.stderr
    assert len(errors) == 1 and "RuntimeError: plugin bug 42" in errors[0], broken.stderr
    assert "Traceback" not in broken.stderr
