"""Logging of every process (api, worker, beat, ...): JSON records to the log server, or to
stderr; in dev, each record echoed readably to stderr (the process's pane), in place of the JSON
there."""

from __future__ import annotations

import logging
import sys

from core.console import wants_colour
from core.context import request_id
from core.echo import EchoHandler
from core.records import ContextFilter, JsonFormatter, StderrHandler
from core.settings import Settings, get_settings
from core.tracing import SpanContextFilter
from logserver.client import ClientConfig, LogServerHandler  # part: logserver

# The stream of a component's own records; access records go to `access` (app.middleware).
STREAMS = {"api": "app"}

# What process-compose's readiness probe asks every second: echoed only when it fails.
PROBE_PATHS = frozenset({"/health", "/ready"})

_installed: dict[str, object] = {}


def configure_logging(component: str, settings: Settings | None = None) -> logging.Handler:
    """Sends the root logger's records to the log server, if there is one and it is enabled,
    and echoes them readably to stderr when LOG_ECHO is on; with neither, they go to stderr as
    JSON lines. Returns the first handler: the log server's when there is one.

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


# part: logserver
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


# end part: logserver


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


# part: logserver
def client_config(component: str, settings: Settings) -> ClientConfig:
    return ClientConfig(
        host=settings.logserver_host,
        port=settings.port("logserver_port"),
        component=component,
        stream=STREAMS.get(component, component),
        token=settings.logserver_token_value,
        spill_dir=settings.state_dir / "log-spill",
    )


# end part: logserver


def _destination(settings: Settings) -> object:
    """Where the records are kept: the log server (as configured), or nowhere but stderr."""
    # part: logserver
    if settings.logserver_enabled:
        return client_config("-", settings)
    # end part: logserver
    return "stderr"


def _echo(settings: Settings) -> bool | None:
    """Whether the echo is on (with colour or not)."""
    if not settings.log_echo:
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
    handlers: list[logging.Handler] = []
    # part: logserver
    if settings.logserver_enabled:
        handlers.append(LogServerHandler(client_config(component, settings)))
    # end part: logserver
    colour = _echo(settings)
    if colour is not None:
        echo = EchoHandler(component, stream, colour)
        echo.addFilter(_worth_echoing)
        handlers.append(echo)
    if not handlers:  # nothing else takes the records: JSON lines on stderr, for a collector
        json_lines = StderrHandler()
        json_lines.setFormatter(JsonFormatter(component, stream))
        handlers.append(json_lines)
    # With tracing on, records made in a span also carry its trace_id and span_id.
    filter_class = SpanContextFilter if settings.tracing else ContextFilter
    context = filter_class({"request_id": request_id})
    for handler in handlers:
        handler.addFilter(context)
    return handlers
