"""`logserver` (or `python -m logserver`): serve, ping, tail and stats.

It stands alone, for any program in any language: each option is a flag or a `LOGSERVER_*`
variable, and nothing else is read (`dev run logserver` passes the project settings as flags).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer

from core.console import ColourChoice, wants_colour
from core.echo import EchoHandler
from core.records import JsonFormatter, StderrHandler
from logserver.client import ping as ping_server
from logserver.reader import Record, records
from logserver.server import ServerConfig, run
from logserver.stats import render_stats, route_stats
from logserver.storage import StorageConfig
from logserver.tail import Follower, RecordFilter, backlog, printer, since_timestamp
from logserver.waterfall import find_trace, render_waterfall

cli = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)

DEFAULT_DIR = Path(".state") / "logs"  # a checkout's default LOG_BASE_PATH, from its root

DirOption = Annotated[
    Path, typer.Option("--dir", envvar="LOGSERVER_DIR", help="Log folder.", show_default=True)
]
HostOption = Annotated[str, typer.Option(envvar="LOGSERVER_HOST", help="Address.")]
PortOption = Annotated[int, typer.Option(envvar="LOGSERVER_PORT", min=1, max=65535, help="Port.")]
TokenOption = Annotated[
    str | None, typer.Option(envvar="LOGSERVER_TOKEN", help="Shared token (empty: none).")
]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LogFormat = Literal["json", "text"]


def serve(
    config: ServerConfig,
    log_level: str = "INFO",
    log_format: LogFormat = "json",
    colour: bool = False,
) -> None:
    """Runs the log server in the foreground until SIGTERM or SIGINT, its own records on stderr
    (JSON lines, or `text`: readable lines, as the dev echo writes them)."""
    handler: logging.Handler
    if log_format == "text":
        handler = EchoHandler("logserver", "logserver", colour)
    else:
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter(component="logserver", stream="logserver"))
    logger = logging.getLogger("logserver")
    logger.addHandler(handler)
    logger.setLevel(log_level)
    logger.propagate = False
    where = f"logserver: {config.host}:{config.port}, storing in {config.storage.base}"
    try:
        run(config, lambda: print(where, file=sys.stderr, flush=True))
    finally:
        logger.removeHandler(handler)
        handler.close()


def serve_argv(port: int, directory: Path, *options: str) -> list[str]:
    """`python -m logserver serve` on `port`, storing under `directory`, with this interpreter:
    how the bench and the tests start a server of their own."""
    return [sys.executable, "-m", "logserver", "serve", "--port", str(port), "--dir",
            str(directory), *options]  # fmt: skip


@cli.command("serve")
def serve_command(
    host: HostOption = "127.0.0.1",
    port: PortOption = 7779,
    directory: DirOption = DEFAULT_DIR,
    rotate_bytes: Annotated[
        int,
        typer.Option(envvar="LOGSERVER_ROTATE_BYTES", min=1024, help="Rotate a file at this size."),
    ] = 64 * 1024 * 1024,
    retention_days: Annotated[
        int,
        typer.Option(envvar="LOGSERVER_RETENTION_DAYS", min=1, help="Delete older files."),
    ] = 14,
    token: TokenOption = None,
    log_level: Annotated[
        str, typer.Option(envvar="LOGSERVER_LOG_LEVEL", help="DEBUG, INFO, WARNING or ERROR.")
    ] = "INFO",
    log_format: Annotated[
        LogFormat,
        typer.Option(envvar="LOGSERVER_LOG_FORMAT", help="Own records on stderr: json or text."),
    ] = "json",
    color: Annotated[
        ColourChoice, typer.Option(envvar="LOGSERVER_COLOR", help="Of the text: auto, on a tty.")
    ] = "auto",
    idle_seconds: Annotated[
        float,
        typer.Option(envvar="LOGSERVER_IDLE_SECONDS", min=0.001, help="Close a silent connection."),
    ] = 300.0,
    max_connections: Annotated[
        int,
        typer.Option(envvar="LOGSERVER_MAX_CONNECTIONS", min=1, help="Refuse connections past it."),
    ] = 256,
    max_senders: Annotated[
        int,
        typer.Option(envvar="LOGSERVER_MAX_SENDERS", min=1, help="Sender marks kept at most."),
    ] = 10_000,
) -> None:
    """Run the log server in the foreground (SIGTERM or Ctrl-C stops it cleanly)."""
    if log_level.upper() not in LOG_LEVELS:
        raise typer.BadParameter(f"{log_level!r}: choose one of {', '.join(LOG_LEVELS)}")
    storage = StorageConfig(
        base=directory.resolve(), rotate_bytes=rotate_bytes, retention_days=retention_days
    )
    config = ServerConfig(
        storage=storage,
        host=host,
        port=port,
        token=token or None,
        idle_seconds=idle_seconds,
        max_connections=max_connections,
        max_senders=max_senders,
    )
    serve(config, log_level.upper(), log_format, wants_colour(color, sys.stderr))


@cli.command()
def ping(
    host: HostOption = "127.0.0.1",
    port: PortOption = 7779,
    token: TokenOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait.")] = 2.0,
) -> None:
    """Exit 0 if the log server answers (a readiness probe), 1 otherwise."""
    address = f"{host}:{port}"
    try:
        ping_server(host, port, token or None, timeout)
    except (OSError, ValueError) as error:
        typer.echo(f"error: log server at {address} does not answer: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"log server at {address} is up")


@cli.command()
def tail(
    stream: Annotated[list[str] | None, typer.Option(help="Only this stream (repeatable).")] = None,
    request_id: Annotated[str | None, typer.Option(help="Only this request id.")] = None,
    trace: Annotated[str | None, typer.Option(help="Only the records of this trace id.")] = None,
    level: Annotated[str | None, typer.Option(help="At least this level (INFO, ...).")] = None,
    component: Annotated[str | None, typer.Option(help="Only this component.")] = None,
    since: Annotated[str | None, typer.Option(help="Received in the last 90s/15m/1h/2d.")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="Last N records; 0: all.")] = 20,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Then print new ones.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The records as stored.")] = False,
    color: Annotated[ColourChoice, typer.Option(help="auto: on a terminal.")] = "auto",
    directory: DirOption = DEFAULT_DIR,
) -> None:
    """Print stored records readably (or as stored), oldest first, filtered; with -f, follow
    every stream (or those given)."""
    base = directory
    try:
        matches = RecordFilter(
            request_id=request_id, component=component, min_level=level, trace_id=trace
        )
        cutoff = since_timestamp(since, datetime.now(UTC)) if since else ""
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    streams = stream or ()
    show = printer(as_json, wants_colour(color, sys.stdout))
    follower = Follower(base, streams) if follow else None
    for doc in backlog(base, streams, matches, cutoff, lines):
        typer.echo(show(doc), color=True)
    if follower is not None:
        _follow(follower, matches, show)


# How often `tail -f` looks for new records: a stat of each stream's file, cheap at 4 a second.
FOLLOW_SECONDS = 0.25


def _follow(follower: Follower, matches: RecordFilter, show: Callable[[Record], str]) -> None:
    try:
        while True:
            for doc in follower.poll():
                if matches.matches(doc):
                    typer.echo(show(doc), color=True)
            sys.stdout.flush()
            time.sleep(FOLLOW_SECONDS)
    except KeyboardInterrupt:
        pass


@cli.command("trace")
def trace_command(
    trace_or_request_id: Annotated[str, typer.Argument(help="A trace id or a request id.")],
    slow_ms: Annotated[float, typer.Option(help="Mark spans at least this long.")] = 100.0,
    since: Annotated[str | None, typer.Option(help="Received in the last 90s/15m/1h/2d.")] = None,
    color: Annotated[ColourChoice, typer.Option(help="auto: on a terminal.")] = "auto",
    directory: DirOption = DEFAULT_DIR,
) -> None:
    """Print one trace as a waterfall: its spans indented under their parents, with component,
    start, duration (slow ones marked) and the log records made inside each."""
    try:
        cutoff = since_timestamp(since, datetime.now(UTC)) if since else ""
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    found = find_trace(records(directory, (), cutoff), trace_or_request_id.strip())
    if found is None:
        typer.echo(
            f"error: no spans stored for trace or request id {trace_or_request_id!r} in "
            f"{directory} (is tracing on? spans come within a few seconds)",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(render_waterfall(found, slow_ms, wants_colour(color, sys.stdout)), color=True)


@cli.command()
def stats(
    since: Annotated[str | None, typer.Option(help="Received in the last 90s/15m/1h/2d.")] = None,
    stream: Annotated[str, typer.Option(help="The stream of access records.")] = "access",
    directory: DirOption = DEFAULT_DIR,
) -> None:
    """Per route: requests, p50/p95/p99 duration (ms), and 2xx/3xx/4xx/5xx counts."""
    base = directory
    try:
        cutoff = since_timestamp(since, datetime.now(UTC)) if since else ""
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(render_stats(route_stats(records(base, [stream], cutoff))))


def main(argv: list[str] | None = None) -> None:
    cli(args=argv, prog_name="logserver")
