"""Building the multi-env Docker image: env recipes, Dockerfile rendering, docker builds.

The names below load their module on first use, so that importing a light submodule
(`image.errors`, `image.reference`) does not import Docker's client and jinja2.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cosmos_curate.image.build import (
        BuildResult,
        ImageInfo,
        build_image,
        list_images,
        plan_image,
        push_image,
    )
    from cosmos_curate.image.envs import EnvRecipe, known_envs, parse_env_list, select_envs
    from cosmos_curate.image.errors import (
        BuildFailedError,
        DockerUnavailableError,
        ImageError,
        InvalidEnvNameError,
        PushFailedError,
        TemplateRenderError,
        UnknownEnvError,
    )
    from cosmos_curate.image.render import RenderedImage, RenderOptions, render_dockerfile

_HOMES = {
    **dict.fromkeys(
        ("BuildResult", "ImageInfo", "build_image", "list_images", "plan_image", "push_image"),
        "build",
    ),
    **dict.fromkeys(("EnvRecipe", "known_envs", "parse_env_list", "select_envs"), "envs"),
    **dict.fromkeys(
        (
            "BuildFailedError",
            "DockerUnavailableError",
            "ImageError",
            "InvalidEnvNameError",
            "PushFailedError",
            "TemplateRenderError",
            "UnknownEnvError",
        ),
        "errors",
    ),
    **dict.fromkeys(("RenderedImage", "RenderOptions", "render_dockerfile"), "render"),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "BuildFailedError",
    "BuildResult",
    "DockerUnavailableError",
    "EnvRecipe",
    "ImageError",
    "ImageInfo",
    "InvalidEnvNameError",
    "PushFailedError",
    "RenderOptions",
    "RenderedImage",
    "TemplateRenderError",
    "UnknownEnvError",
    "build_image",
    "known_envs",
    "list_images",
    "parse_env_list",
    "plan_image",
    "push_image",
    "render_dockerfile",
    "select_envs",
]
