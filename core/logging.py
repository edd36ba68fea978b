"""Logging of every process (api, worker, beat): JSON records to the log server, or to stderr."""

from __future__ import annotations

import logging

from core.context import request_id
from core.settings import Settings, get_settings
from logserver.client import ClientConfig, LogServerHandler
from logserver.records import ContextFilter, JsonFormatter, StderrHandler

# The stream of a component's own records; access records go to `access` (app.middleware).
STREAMS = {"api": "app"}

_installed: dict[str, object] = {}


def configure_logging(component: str, settings: Settings | None = None) -> logging.Handler:
    """Sends the root logger's records to the log server (JSON on stderr when it is disabled).

    Idempotent: a second call with the same component and settings keeps the handler in place;
    with different ones it replaces it.
    """
    settings = settings or get_settings()
    key = (component, _destination(settings), settings.log_level)
    current = _installed.get("handler")
    if isinstance(current, logging.Handler) and _installed.get("key") == key:
        return current
    handler = _build_handler(component, settings)
    root = logging.getLogger()
    if isinstance(current, logging.Handler):
        root.removeHandler(current)
        current.close()
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    _installed.update(key=key, handler=handler)
    return handler


def reset_logging() -> None:
    """Removes and closes the handler `configure_logging` installed (for tests)."""
    current = _installed.pop("handler", None)
    _installed.pop("key", None)
    if isinstance(current, logging.Handler):
        logging.getLogger().removeHandler(current)
        current.close()


def client_config(component: str, settings: Settings) -> ClientConfig:
    return ClientConfig(
        host=settings.logserver_host,
        port=settings.port("logserver_port"),
        component=component,
        stream=STREAMS.get(component, component),
        token=settings.logserver_token_value,
        spill_dir=settings.state_dir / "log-spill",
    )


def _destination(settings: Settings) -> object:
    return client_config("-", settings) if settings.logserver_enabled else "stderr"


def _build_handler(component: str, settings: Settings) -> logging.Handler:
    handler: logging.Handler
    if settings.logserver_enabled:
        handler = LogServerHandler(client_config(component, settings))
    else:
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter(component, STREAMS.get(component, component)))
    handler.addFilter(ContextFilter({"request_id": request_id}))
    return handler
