"""`logserver` (or `python -m logserver`): serve, ping, tail and stats, configured by the project
settings, each overridable by a flag."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from app.settings import Settings, get_settings
from logserver.client import ping as ping_server
from logserver.console import ColourChoice, wants_colour
from logserver.reader import Record, records
from logserver.records import JsonFormatter, StderrHandler
from logserver.server import ServerConfig, run
from logserver.stats import render_stats, route_stats
from logserver.storage import StorageConfig
from logserver.tail import Follower, RecordFilter, backlog, printer, since_timestamp

cli = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)

DirOption = Annotated[Path | None, typer.Option("--dir", help="Log folder [LOG_BASE_PATH].")]
HostOption = Annotated[str | None, typer.Option(help="Address [LOGSERVER_HOST, 127.0.0.1].")]
PortOption = Annotated[int | None, typer.Option(help="Port [LOGSERVER_PORT, 7779+PORT_OFFSET].")]
TokenOption = Annotated[str | None, typer.Option(help="Shared token [LOGSERVER_TOKEN].")]


def server_config(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    directory: Path | None = None,
    rotate_bytes: int | None = None,
    retention_days: int | None = None,
    token: str | None = None,
) -> ServerConfig:
    """The server's config: the settings, with any override given."""
    storage = StorageConfig(
        base=(directory or settings.logs_dir).resolve(),
        rotate_bytes=rotate_bytes or settings.log_rotate_bytes,
        retention_days=retention_days or settings.log_retention_days,
    )
    return ServerConfig(
        storage=storage,
        host=host or settings.logserver_host,
        port=port or settings.port("logserver_port"),
        token=token if token is not None else settings.logserver_token_value,
    )


def serve(settings: Settings, **overrides: object) -> None:
    """Runs the log server in the foreground until SIGTERM or SIGINT, its own logs on stderr.

    `overrides` are those of `server_config` (host, port, directory, rotate_bytes, ...).
    """
    config = server_config(settings, **overrides)  # type: ignore[arg-type]
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter(component="logserver", stream="logserver"))
    logger = logging.getLogger("logserver")
    logger.addHandler(handler)
    logger.setLevel(settings.log_level)
    logger.propagate = False
    run(config)


def serve_argv(port: int, directory: Path, *options: str) -> list[str]:
    """`python -m logserver serve` on `port`, storing under `directory`, with this interpreter:
    how the bench and the tests start a server of their own."""
    return [sys.executable, "-m", "logserver", "serve", "--port", str(port), "--dir",
            str(directory), *options]  # fmt: skip


@cli.command("serve")
def serve_command(
    host: HostOption = None,
    port: PortOption = None,
    directory: DirOption = None,
    rotate_bytes: Annotated[
        int | None, typer.Option(help="Rotate a file at this size [LOG_ROTATE_BYTES].")
    ] = None,
    retention_days: Annotated[
        int | None, typer.Option(help="Delete files older than this [LOG_RETENTION_DAYS].")
    ] = None,
    token: TokenOption = None,
) -> None:
    """Run the log server in the foreground (SIGTERM or Ctrl-C stops it cleanly)."""
    serve(
        get_settings(),
        host=host,
        port=port,
        directory=directory,
        rotate_bytes=rotate_bytes,
        retention_days=retention_days,
        token=token,
    )


@cli.command()
def ping(
    host: HostOption = None,
    port: PortOption = None,
    token: TokenOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait.")] = 2.0,
) -> None:
    """Exit 0 if the log server answers (a readiness probe), 1 otherwise."""
    config = server_config(get_settings(), host=host, port=port, token=token)
    address = f"{config.host}:{config.port}"
    try:
        ping_server(config.host, config.port, config.token, timeout)
    except (OSError, ValueError) as error:
        typer.echo(f"error: log server at {address} does not answer: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"log server at {address} is up")


@cli.command()
def tail(
    stream: Annotated[list[str] | None, typer.Option(help="Only this stream (repeatable).")] = None,
    request_id: Annotated[str | None, typer.Option(help="Only this request id.")] = None,
    level: Annotated[str | None, typer.Option(help="At least this level (INFO, ...).")] = None,
    component: Annotated[str | None, typer.Option(help="Only this component.")] = None,
    since: Annotated[str | None, typer.Option(help="Received in the last 90s/15m/1h/2d.")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="Last N records; 0: all.")] = 20,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Then print new ones.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The records as stored.")] = False,
    color: Annotated[ColourChoice, typer.Option(help="auto: on a terminal.")] = "auto",
    directory: DirOption = None,
) -> None:
    """Print stored records readably (or as stored), oldest first, filtered; with -f, follow
    every stream (or those given)."""
    base = directory or get_settings().logs_dir
    try:
        matches = RecordFilter(request_id=request_id, component=component, min_level=level)
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


def _follow(follower: Follower, matches: RecordFilter, show: Callable[[Record], str]) -> None:
    try:
        while True:
            for doc in follower.poll():
                if matches.matches(doc):
                    typer.echo(show(doc), color=True)
            sys.stdout.flush()
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


@cli.command()
def stats(
    since: Annotated[str | None, typer.Option(help="Received in the last 90s/15m/1h/2d.")] = None,
    stream: Annotated[str, typer.Option(help="The stream of access records.")] = "access",
    directory: DirOption = None,
) -> None:
    """Per route: requests, p50/p95/p99 duration (ms), and 2xx/3xx/4xx/5xx counts."""
    base = directory or get_settings().logs_dir
    try:
        cutoff = since_timestamp(since, datetime.now(UTC)) if since else ""
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(render_stats(route_stats(records(base, [stream], cutoff))))


def main(argv: list[str] | None = None) -> None:
    cli(args=argv, prog_name="logserver")
