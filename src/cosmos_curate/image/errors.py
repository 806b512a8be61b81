"""Errors of `curate image`: each `str()` is one line saying what is wrong and what to do."""

from __future__ import annotations

from cosmos_curate.core.interfaces.errors import CurateError


class ImageError(CurateError):
    """Base of the errors raised while rendering, building or listing images."""


class InvalidEnvNameError(ImageError, ValueError):
    """An env name has characters other than letters, digits, '-' and '_'."""


class UnknownEnvError(ImageError, LookupError):
    """No `envs/<name>/build_steps.dockerfile.j2` exists for a requested env."""


class TemplateRenderError(ImageError):
    """`Dockerfile.j2` or an env snippet failed to render (syntax or undefined variable)."""


class DockerUnavailableError(ImageError):
    """No Docker daemon answers at `DOCKER_HOST` (or the default socket)."""


class BuildFailedError(ImageError):
    """The Docker daemon reported an error while building the image."""


class PushFailedError(ImageError):
    """The Docker daemon could not push the image to its registry."""


class InvalidImageReferenceError(ImageError, ValueError):
    """A base image, image name or tag does not follow Docker's reference grammar."""


class InvalidNetworkError(ImageError, ValueError):
    """A build's `--network` is neither a Docker network mode nor a valid network name."""


class NoSourceCheckoutError(ImageError):
    """An image build needs the project's source (it installs it); a wheel install has none."""
