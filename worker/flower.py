"""Flower as every environment starts it, `python -m worker flower` (`dev run flower` and the
production image alike): on the settings' address and port, read-only, behind basic auth from
FLOWER_USER and FLOWER_PASSWORD, and not at all in production without them."""

from __future__ import annotations

import os
from collections.abc import Sequence

from core.settings import Settings

AUTH_VARIABLE = "FLOWER_BASIC_AUTH"


class FlowerError(SystemExit):
    """Flower cannot start as configured: exits with one line saying why."""

    def __init__(self, message: str) -> None:
        super().__init__(f"error: flower: {message}")


def credentials(settings: Settings) -> str | None:
    """`user:password` for Flower's basic auth, or None when neither is set (empty is unset)."""
    user = settings.flower_user or None
    password = settings.secret("flower_password")
    if (user is None) != (password is None):
        raise FlowerError("set both FLOWER_USER and FLOWER_PASSWORD, or neither")
    if user is None:
        if settings.environment == "production":
            raise FlowerError("production needs FLOWER_USER and FLOWER_PASSWORD (basic auth)")
        return None
    if ":" in user or "," in f"{user}{password}":
        # Flower splits the variable at commas, and user from password at the first colon.
        raise FlowerError("FLOWER_USER cannot contain ':', nor either of them ','")
    return f"{user}:{password}"


def flower_args(settings: Settings, args: Sequence[str]) -> list[str]:
    """The arguments of `celery flower`; its credentials go by the environment (out of `ps`),
    and only from the settings."""
    auth = credentials(settings)
    os.environ.pop(AUTH_VARIABLE, None)
    if auth is not None:
        os.environ[AUTH_VARIABLE] = auth
    address, port = settings.bind_host, settings.port("flower_port")
    return [f"--address={address}", f"--port={port}", "--read_only=True", *args]
