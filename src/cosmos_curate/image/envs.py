"""The env recipes under `envs/`: discovery and name validation.

An env is a folder `envs/<name>/` holding `build_steps.dockerfile.j2`. Names are letters,
digits, '-' and '_' only and are never joined to a path before that check, so `../x` or
`/etc` can't reach outside `envs/`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import attrs

from cosmos_curate.image.errors import InvalidEnvNameError, UnknownEnvError

RECIPE_FILE = "build_steps.dockerfile.j2"
DEFAULT_ENV = "default"
_NAME = re.compile(r"[A-Za-z0-9_-]+")


@attrs.frozen
class EnvRecipe:
    """One env: its name and the snippet that builds it."""

    name: str
    recipe: Path


def is_valid_env_name(name: str) -> bool:
    """Whether `name` is letters, digits, '-' and '_' only (and not empty)."""
    return _NAME.fullmatch(name) is not None


def known_envs(envs_dir: Path) -> list[str]:
    """Sorted names of the env folders in `envs_dir` that hold a recipe."""
    if not envs_dir.is_dir():
        return []
    names = (p.name for p in envs_dir.iterdir() if (p / RECIPE_FILE).is_file())
    return sorted(n for n in names if is_valid_env_name(n))


def parse_env_list(text: str) -> list[str]:
    """Split `a,b, c` into names; empty items are dropped."""
    return [part.strip() for part in text.split(",") if part.strip()]


def select_envs(names: Iterable[str], envs_dir: Path) -> list[EnvRecipe]:
    """The recipes to build, in image order: the others sorted, then `default` last.

    `default` (the runtime itself: the `curate` CLI and the Ray driver) is always included,
    last so that it is the image's active env without another instruction after its big
    layer. Sorting makes `--envs a,b` and `--envs b,a` the same Dockerfile, so they share
    the build cache. Raises `InvalidEnvNameError` or `UnknownEnvError` naming the known envs.
    """
    known = known_envs(envs_dir)
    listing = ", ".join(known) or f"none (no */{RECIPE_FILE} in {envs_dir})"
    wanted = set()
    for name in names:
        if not is_valid_env_name(name):
            msg = (
                f"invalid env name {name!r}: use letters, digits, '-' and '_' only; "
                f"known envs: {listing}"
            )
            raise InvalidEnvNameError(msg)
        if name not in known:
            msg = f"unknown env {name!r}: no {envs_dir / name / RECIPE_FILE}; known envs: {listing}"
            raise UnknownEnvError(msg)
        wanted.add(name)
    if DEFAULT_ENV not in known:
        msg = f"the {DEFAULT_ENV!r} env (the runtime itself) is missing; known envs: {listing}"
        raise UnknownEnvError(msg)
    ordered = [*sorted(wanted - {DEFAULT_ENV}), DEFAULT_ENV]
    return [EnvRecipe(name, envs_dir / name / RECIPE_FILE) for name in ordered]
