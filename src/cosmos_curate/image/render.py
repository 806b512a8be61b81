"""Rendering `Dockerfile.j2` and each env's `build_steps.dockerfile.j2` into one Dockerfile.

Templates render with `StrictUndefined`: an unknown variable is an error naming the file and
line, never an empty string baked into an image. The variables are listed in
`docs/IMAGE.md`; `snippet_variables()` builds them for one env.
"""

from __future__ import annotations

import shlex
import tomllib
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import attrs
import jinja2

from cosmos_curate import __version__
from cosmos_curate.core.utils.settings import DEFAULT_METRICS_PORT
from cosmos_curate.image.envs import DEFAULT_ENV, EnvRecipe
from cosmos_curate.image.errors import ImageError, TemplateRenderError
from cosmos_curate.image.reference import check_reference

TEMPLATE_FILE = "Dockerfile.j2"
DEFAULT_BASE_IMAGE = "nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04"
PYTHON_VERSION = "3.11"
# Where things live inside the image; the runtime reads CURATE_ENVS_DIR set from ENVS_ROOT.
ENVS_ROOT = "/opt/conda/envs"
CODE_DIR = "/opt/cosmos-curate"
WEIGHTS_DIR = "/config/models"
WORKSPACE_DIR = "/workspace"
# Ray head: GCS, client server, dashboard; then the pipeline metrics export port.
RAY_PORTS = (6379, 10001, 8265)
METRICS_PORT = DEFAULT_METRICS_PORT
# Image labels: `curate image list` finds the images built here and reads their envs.
LABEL_BUILT_BY = "org.cosmos-curate.built-by"
LABEL_ENVS = "org.cosmos-curate.envs"
LABEL_VERSION = "org.cosmos-curate.version"
BUILT_BY = "curate image build"
# BuildKit keeps pip's and conda's package downloads between builds in these cache mounts.
_CACHE_MOUNTS = ("/root/.cache/pip", "/opt/conda/pkgs")


@attrs.frozen
class RenderOptions:
    """What varies between renders of the same templates."""

    base_image: str = attrs.field(
        default=DEFAULT_BASE_IMAGE, validator=lambda _i, _a, value: check_reference(value)
    )
    # Only a BuildKit builder understands `RUN --mount=type=cache`; the legacy builder (the
    # one the docker SDK drives) needs `cache_mount_str` empty.
    buildkit: bool = False
    python_version: str = PYTHON_VERSION


@attrs.frozen
class DockerfileStats:
    """Instruction counts of a rendered Dockerfile (FROM and ARG excluded)."""

    instructions: int
    filesystem_layers: int  # RUN, COPY and ADD: the steps that add a filesystem layer


@attrs.frozen
class RenderedImage:
    """A rendered Dockerfile and the envs it builds, in image order."""

    dockerfile: str
    envs: tuple[str, ...]

    @property
    def stats(self) -> DockerfileStats:
        """Instruction and layer counts of `dockerfile`."""
        return dockerfile_stats(self.dockerfile)


def cache_mount_str(buildkit: bool) -> str:
    """The `RUN` flags mounting the package caches, or "" for the legacy builder."""
    if not buildkit:
        return ""
    return " ".join(f"--mount=type=cache,target={path},sharing=locked" for path in _CACHE_MOUNTS)


def project_dependencies(repo_root: Path) -> tuple[list[str], dict[str, list[str]]]:
    """The project's runtime requirements and its optional extras, from `pyproject.toml`."""
    path = repo_root / "pyproject.toml"
    try:
        project = tomllib.loads(path.read_text())["project"]
    except (OSError, tomllib.TOMLDecodeError, KeyError) as exc:
        msg = f"cannot read the project's dependencies from {path}: {exc}"
        raise ImageError(msg) from exc
    extras = {name: list(reqs) for name, reqs in project.get("optional-dependencies", {}).items()}
    return list(project.get("dependencies", [])), extras


def _quoted(requirements: Sequence[str]) -> str:
    return " ".join(shlex.quote(r) for r in requirements)


def snippet_variables(env_name: str, repo_root: Path, options: RenderOptions) -> dict[str, Any]:
    """The variables an env's `build_steps.dockerfile.j2` can use (see docs/IMAGE.md)."""
    deps, extras = project_dependencies(repo_root)
    prefix = f"{ENVS_ROOT}/{env_name}"
    mount = cache_mount_str(options.buildkit)
    run = f"RUN {mount} " if mount else "RUN "
    return {
        "cache_mount_str": mount,
        "install_regular_cosmos_curator_deps_str": (
            f"{run}{prefix}/bin/python -m pip install {_quoted(deps)}"
        ),
        "regular_deps": _quoted(deps),
        "optional_deps": {name: _quoted(reqs) for name, reqs in extras.items()},
        "env_name": env_name,
        "env_prefix": prefix,
        "env_python": f"{prefix}/bin/python",
        "python_version": options.python_version,
    }


def _jinja(search_paths: Sequence[Path]) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in search_paths]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def _shown(path: str | None, repo_root: Path) -> str:
    if not path:
        return "<template>"
    try:
        return str(Path(path).resolve().relative_to(repo_root.resolve()))
    except ValueError:
        return path


def _template_line(tb: TracebackType | None, filename: str) -> int | None:
    """The template line a render error came from (jinja maps frames to template lines)."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _render(env: jinja2.Environment, name: str, variables: dict[str, Any], repo_root: Path) -> str:
    """Render template `name`; any jinja error becomes one line naming file and line."""
    filename: str | None = None
    try:
        template = env.get_template(name)
        filename = template.filename
        return template.render(variables)
    except jinja2.TemplateSyntaxError as exc:
        where = f"{_shown(exc.filename, repo_root)} line {exc.lineno}"
        msg = f"{where}: template syntax error: {exc.message}"
        raise TemplateRenderError(msg) from exc
    except jinja2.TemplateNotFound as exc:
        msg = f"template {exc.name} not found under {', '.join(env.loader.searchpath)}"  # type: ignore[union-attr]
        raise TemplateRenderError(msg) from exc
    except jinja2.TemplateError as exc:
        line = _template_line(exc.__traceback__, filename) if filename else None
        where = _shown(filename, repo_root) + (f" line {line}" if line else "")
        known = ", ".join(sorted(variables))
        msg = f"{where}: {exc.message or type(exc).__name__} (variables: {known})"
        raise TemplateRenderError(msg) from exc


def render_dockerfile(
    envs: Sequence[EnvRecipe], repo_root: Path, options: RenderOptions | None = None
) -> RenderedImage:
    """Render `<repo_root>/Dockerfile.j2` with one block per env, in the given order."""
    options = options or RenderOptions()
    blocks = []
    for recipe in envs:
        jinja = _jinja([recipe.recipe.parent])
        variables = snippet_variables(recipe.name, repo_root, options)
        body = _render(jinja, recipe.recipe.name, variables, repo_root)
        blocks.append(
            {
                "name": recipe.name,
                "source": _shown(str(recipe.recipe), repo_root),
                "prefix": variables["env_prefix"],
                "body": body.strip("\n"),
            }
        )
    top = {
        "base_image": options.base_image,
        "buildkit": options.buildkit,
        "cache_mount_str": cache_mount_str(options.buildkit),
        "python_version": options.python_version,
        "envs": blocks,
        "env_names": [b["name"] for b in blocks],
        "default_env": DEFAULT_ENV,
        "labels": {
            LABEL_BUILT_BY: BUILT_BY,
            LABEL_ENVS: ",".join(b["name"] for b in blocks),
            LABEL_VERSION: __version__,
        },
        "envs_root": ENVS_ROOT,
        "code_dir": CODE_DIR,
        "weights_dir": WEIGHTS_DIR,
        "workspace_dir": WORKSPACE_DIR,
        "ray_ports": list(RAY_PORTS),
        "metrics_port": METRICS_PORT,
    }
    text = _render(_jinja([repo_root]), TEMPLATE_FILE, top, repo_root)
    return RenderedImage(dockerfile=text, envs=tuple(b["name"] for b in blocks))


def dockerfile_stats(text: str) -> DockerfileStats:
    """Count instructions (continuation lines joined; comments, FROM and ARG skipped)."""
    instructions = layers = 0
    continued = False
    for raw in text.splitlines():
        line = raw.strip()
        if continued:
            # comment and blank lines inside a continued instruction don't end it
            if line and not line.startswith("#"):
                continued = line.endswith("\\")
            continue
        if not line or line.startswith("#"):
            continue
        continued = line.endswith("\\")
        keyword = line.split(None, 1)[0].upper()
        if keyword in ("FROM", "ARG"):
            continue
        instructions += 1
        layers += keyword in ("RUN", "COPY", "ADD")
    return DockerfileStats(instructions=instructions, filesystem_layers=layers)
