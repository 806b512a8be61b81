"""`curate pipeline new NAME`: a minimal pipeline package, installable as a plugin.

The package (pyproject with the `cosmos_curate.pipelines` entry point, a task, two stages,
a stage spec, the registration and a test on the embedded Ray) is written from the files
in `package_template/`: `$name` is the pipeline's name, `$module` its Python package, and a
path segment `MODULE` becomes the package's folder. Every check runs before anything is
written, and the files appear together (written beside the target, then moved into place).
"""

from __future__ import annotations

import importlib.util
import keyword
import os
import re
import shutil
import string
import tempfile
from pathlib import Path

from cosmos_curate.core.interfaces.errors import CurateError
from cosmos_curate.pipelines import catalog

TEMPLATE_DIR = Path(__file__).with_name("package_template")
NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")


class NewPipelineError(CurateError):
    """The name or the target folder of `curate pipeline new` is not usable."""


def module_name(name: str) -> str:
    """The Python package of the pipeline `name` (`my-pipeline` -> `my_pipeline`)."""
    return name.replace("-", "_")


def check_name(name: str) -> None:
    """Refuse a name that is not identifier-like, is taken, or shadows an importable module."""
    if NAME_PATTERN.fullmatch(name) is None:
        msg = (
            f"pipeline name {name!r}: use lower-case letters and digits, single '-' or '_' "
            "between them, starting with a letter (e.g. my-pipeline)"
        )
        raise NewPipelineError(msg)
    if catalog.builtin_info(name) is not None:
        msg = f"pipeline name {name!r} is a shipped pipeline's; pick another name"
        raise NewPipelineError(msg)
    module = module_name(name)
    if keyword.iskeyword(module) or importlib.util.find_spec(module) is not None:
        msg = f"pipeline name {name!r}: a module {module!r} is already importable; pick another"
        raise NewPipelineError(msg)


def check_target(target: Path) -> None:
    """Refuse a target that is a file or a folder with something in it."""
    if target.is_dir() and any(target.iterdir()):
        msg = f"folder {target} is not empty; give --path a new or empty folder"
        raise NewPipelineError(msg)
    if target.exists() and not target.is_dir():
        msg = f"--path {target} is a file, not a folder"
        raise NewPipelineError(msg)
    existing = next((p for p in target.parents if p.exists()), None)
    if existing is not None and not existing.is_dir():
        msg = f"--path {target}: {existing} is a file, not a folder"
        raise NewPipelineError(msg)


def _render(name: str) -> dict[Path, str]:
    """Each file of the package (path relative to its folder) and its text."""
    values = {"name": name, "module": module_name(name)}
    files = {}
    for template in sorted(TEMPLATE_DIR.rglob("*.tmpl")):
        relative = template.relative_to(TEMPLATE_DIR).with_suffix("")
        parts = [values["module"] if part == "MODULE" else part for part in relative.parts]
        text = string.Template(template.read_text(encoding="utf-8")).substitute(values)
        files[Path(*parts)] = text
    if not files:  # a packaging bug: the templates did not ship
        msg = f"no package template in {TEMPLATE_DIR}"
        raise RuntimeError(msg)
    return files


def write_package(name: str, target: Path) -> list[Path]:
    """Write the package of pipeline `name` into `target`; the files written, in order."""
    check_name(name)
    check_target(target)
    files = _render(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for relative, text in files.items():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            (staging / relative).write_text(text, encoding="utf-8")
        staging.chmod(0o777 & ~_umask())
        staging.replace(target)  # an empty target folder is replaced as well
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [target / relative for relative in files]


def _umask() -> int:
    """The process's umask (mkdtemp makes its folder 0700; the package gets the usual mode)."""
    current = os.umask(0)
    os.umask(current)
    return current
