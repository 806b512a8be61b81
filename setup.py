"""Ship the project files a wheel needs (registry, env recipes, image template, pyproject).

They live at the top of the checkout (DESIGN.md's layout); the wheel carries a copy under
`cosmos_curate/_project/`, which `settings.repo_root()` finds when there is no checkout.
The template installs pyproject.toml's dependency list, so it ships too. Everything else
about the package is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PROJECT_FILES = ("configs", "envs", "Dockerfile.j2", "pyproject.toml")


class BuildWithProjectFiles(build_py):
    """`build_py` plus a copy of PROJECT_FILES into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads them from the checkout
            return
        root = Path(__file__).parent
        target = Path(self.build_lib) / "cosmos_curate" / "_project"
        for name in PROJECT_FILES:
            source = root / name
            if source.is_dir():
                shutil.copytree(source, target / name, dirs_exist_ok=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": BuildWithProjectFiles})
