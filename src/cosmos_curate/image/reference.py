"""Docker image references checked against Docker's reference grammar before any use.

A base image goes into the Dockerfile's `FROM` line and a name and tag into the build; a
newline or space there would inject instructions or fail deep inside Docker, so each is
checked first (grammar of github.com/distribution/reference: `[host[:port]/]path[:tag]
[@digest]`, lower-case path components, tags of at most 128 word characters, `.` or `-`).
"""

from __future__ import annotations

import re

from cosmos_curate.image.errors import InvalidImageReferenceError

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

NAME_RE = re.compile(rf"\A{_NAME}\Z")
TAG_RE = re.compile(rf"\A{_TAG}\Z")
REFERENCE_RE = re.compile(rf"\A{_NAME}(?::{_TAG})?(?:@{_DIGEST})?\Z")
MAX_NAME_LENGTH = 255


def _reject(value: str, flag: str, what: str) -> InvalidImageReferenceError:
    msg = f"{flag} {value!r} is not a valid Docker {what}"
    return InvalidImageReferenceError(msg)


def check_reference(value: str, flag: str = "--base-image") -> str:
    """A full reference (`name[:tag][@digest]`, e.g. `nvcr.io/nvidia/cuda:12.4.1-base`)."""
    name = value.split("@", maxsplit=1)[0].rsplit(":", 1)[0]
    if not REFERENCE_RE.match(value) or len(name) > MAX_NAME_LENGTH:
        raise _reject(value, flag, "image reference (name[:tag][@digest])")
    return value


def check_name(value: str, flag: str = "--image-name") -> str:
    """A repository name (lower-case path, optional registry host), without a tag."""
    if not NAME_RE.match(value) or len(value) > MAX_NAME_LENGTH:
        raise _reject(value, flag, "repository name (lower-case, e.g. registry.example.com/curate)")
    return value


def check_tag(value: str, flag: str = "--image-tag") -> str:
    """A tag: up to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`."""
    if not TAG_RE.match(value):
        raise _reject(value, flag, "tag (letters, digits, _ . -; at most 128)")
    return value


__all__ = ["check_name", "check_reference", "check_tag"]
