"""Logging of every process (api, worker, beat, ...): JSON records to the log server, or to
stderr; in dev, each record also echoed readably to stderr (the process's pane)."""

from __future__ import annotations

import logging
import sys

from core.console import wants_colour
from core.context import request_id
from core.echo import EchoHandler
from core.records import ContextFilter, JsonFormatter, StderrHandler
from core.settings import Settings, get_settings
from core.tracing import SpanContextFilter
from logserver.client import ClientConfig, LogServerHandler

# The stream of a component's own records; access records go to `access` (app.middleware).
STREAMS = {"api": "app"}

# What process-compose's readiness probe asks every second: echoed only when it fails (the log
# server keeps every one).
PROBE_PATHS = frozenset({"/health", "/ready"})

_installed: dict[str, object] = {}


def configure_logging(component: str, settings: Settings | None = None) -> logging.Handler:
    """Sends the root logger's records to the log server (JSON on stderr when it is disabled),
    and echoes them readably to stderr when LOG_ECHO is on. Returns the handler that keeps them.

    Idempotent: a second call with the same component and settings keeps the handlers in place;
    with different ones it replaces them.
    """
    settings = settings or get_settings()
    key = (component, _destination(settings), settings.log_level, _echo(settings), settings.tracing)
    current = _installed.get("handlers")
    if isinstance(current, list) and _installed.get("key") == key:
        return current[0]  # type: ignore[no-any-return]
    handlers = _build_handlers(component, settings)
    root = logging.getLogger()
    _remove(current)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(settings.log_level)
    _installed.update(key=key, handlers=handlers)
    return handlers[0]


def direct_handler(logger: logging.Logger) -> LogServerHandler | None:
    """The handler a record of `logger` would reach, when it is the only one, a LogServerHandler
    whose filters copy context variables (ContextFilter) and nothing else, and no logger on the
    way filters: a caller that logs on every request may then give it the record's fields
    (`LogServerHandler.emit_fields`), the same line at a fraction of a LogRecord's cost (the
    access log: about 10% more greetings per second under wrk, measured). None otherwise: with
    the dev echo, JSON on stderr or any handler or filter of the user's, the caller logs as
    usual. It looks afresh each time (well under a microsecond): handlers may change at any
    time."""
    if logger.disabled:
        return None
    found: LogServerHandler | None = None
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return None
        for handler in current.handlers:
            if found is not None or type(handler) is not LogServerHandler:
                return None
            for each in handler.filters:
                if not isinstance(each, ContextFilter):
                    return None
            found = handler
        current = current.parent if current.propagate else None
    return found


def announce(component: str, where: str) -> None:
    """A component's start-up line, `component: where`, straight to stderr: the first lines of
    its pane say where it listens, whether LOG_ECHO is on or not."""
    print(f"{component}: {where}", file=sys.stderr, flush=True)


def flush_logging() -> None:
    """Waits (a few seconds at most) until the records logged so far are delivered or spilled:
    for a process about to leave by os._exit (a Celery prefork child)."""
    for handler in logging.getLogger().handlers:
        handler.flush()


def reset_logging() -> None:
    """Removes and closes the handlers `configure_logging` installed (for tests)."""
    _remove(_installed.pop("handlers", None))
    _installed.pop("key", None)


def _remove(handlers: object) -> None:
    for handler in handlers if isinstance(handlers, list) else ():
        logging.getLogger().removeHandler(handler)
        handler.close()


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


def _echo(settings: Settings) -> bool | None:
    """Whether the echo is on (with colour or not); never with the JSON on stderr already."""
    if not (settings.log_echo and settings.logserver_enabled):
        return None
    return wants_colour(settings.log_color, sys.stderr)


def _worth_echoing(record: logging.LogRecord) -> bool:
    """Everything but the access record of a probe that passed."""
    fields = record.__dict__
    return not (
        fields.get("stream") == "access"
        and fields.get("path") in PROBE_PATHS
        and fields.get("status", 500) < 400
    )


def _build_handlers(component: str, settings: Settings) -> list[logging.Handler]:
    stream = STREAMS.get(component, component)
    handlers: list[logging.Handler]
    if settings.logserver_enabled:
        handlers = [LogServerHandler(client_config(component, settings))]
    else:
        handlers = [StderrHandler()]
        handlers[0].setFormatter(JsonFormatter(component, stream))
    colour = _echo(settings)
    if colour is not None:
        echo = EchoHandler(component, stream, colour)
        echo.addFilter(_worth_echoing)
        handlers.append(echo)
    # With tracing on, records made in a span also carry its trace_id and span_id.
    filter_class = SpanContextFilter if settings.tracing else ContextFilter
    context = filter_class({"request_id": request_id})
    for handler in handlers:
        handler.addFilter(context)
    return handlers
