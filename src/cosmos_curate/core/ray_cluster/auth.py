"""Ray token auth on the client side: where the token comes from, and turning token mode on.

Ray (2.5x+) clusters started with `ray start` require a token unless started with
`RAY_AUTH_MODE=disabled`. Ray reads the token from `RAY_AUTH_TOKEN`, else the file named by
`RAY_AUTH_TOKEN_PATH`, else `~/.ray/auth_token`, but only sends it when `RAY_AUTH_MODE=token`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

AUTH_MODE_VAR = "RAY_AUTH_MODE"
TOKEN_VAR = "RAY_AUTH_TOKEN"
TOKEN_PATH_VAR = "RAY_AUTH_TOKEN_PATH"


def default_token_path() -> Path:
    """Ray's default token file, `~/.ray/auth_token`."""
    return Path.home() / ".ray" / "auth_token"


def token_source() -> str | None:
    """Where Ray would read the token from (a variable name or a file), or None if nowhere."""
    if os.environ.get(TOKEN_VAR, "").strip():
        return TOKEN_VAR
    named = os.environ.get(TOKEN_PATH_VAR)
    if named:
        path = Path(named).expanduser()
        return str(path) if path.is_file() and path.read_text().strip() else None
    path = default_token_path()
    if path.is_file() and path.read_text().strip():
        return str(path)
    return None


def token_mode_on() -> bool:
    """Whether this process sends its token (`RAY_AUTH_MODE=token`)."""
    return os.environ.get(AUTH_MODE_VAR, "").lower() == "token"


def enable_token_mode() -> None:
    """Make this process (and its children) send the token from now on.

    Ray caches its config and the token; both are reloaded so the next connection uses them.
    """
    os.environ[AUTH_MODE_VAR] = "token"
    try:
        from ray._raylet import (  # type: ignore[attr-defined]
            AuthenticationTokenLoader,
            Config,
        )

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()
    except (ImportError, AttributeError):  # an older Ray without token auth: nothing to do
        logger.debug("this Ray has no token auth API")


def missing_token_message(address: str) -> str:
    """The one line for a cluster that wants a token when this process has none."""
    return (
        f"the Ray cluster at {address} requires an auth token and none was found: set "
        f"{TOKEN_VAR} or {TOKEN_PATH_VAR}, or copy the head node's ~/.ray/auth_token "
        "(print it there with `ray get-auth-token`)"
    )


def wrong_token_message(address: str, source: str) -> str:
    """The one line for a cluster that rejected the token read from `source`."""
    return (
        f"the Ray cluster at {address} rejected the auth token from {source}: use the token "
        "of that cluster's head node (`ray get-auth-token` there)"
    )


__all__ = [
    "AUTH_MODE_VAR",
    "TOKEN_PATH_VAR",
    "TOKEN_VAR",
    "default_token_path",
    "enable_token_mode",
    "missing_token_message",
    "token_mode_on",
    "token_source",
    "wrong_token_message",
]
