"""Building the multi-env Docker image: env recipes, Dockerfile rendering, docker builds."""

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
