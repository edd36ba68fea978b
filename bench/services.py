"""The services a `make bench` run measures, on their own ports and state: Postgres (migrated,
1,000 users), Redis, the log server the api ships its access log to, the api with the production
server settings (`python -m app`, as the runtime image runs it), the raw ASGI baseline, and the
peer (bench/peer.py) under uvicorn's defaults, with its access log and without."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, fields
from functools import partial
from pathlib import Path

import asyncpg

from core.settings import ROOT, Settings
from scripts.db import alembic_argv
from scripts.isolated import IsolatedRun, isolated_run
from scripts.launch import VENV_BIN
from scripts.ports import free_port
from scripts.probes import (
    http_ok,
    logserver_answers,  # part: logserver
    postgres_ready,
    redis_ping,
)
from scripts.stack import tracing_environment  # part: logserver
from scripts.supervise import Supervised, run_checked

DEV = str(VENV_BIN / "dev")
SEED_USERS = 1000
USER_COLUMNS = ("username", "email", "age", "mobile", "address")
GREETING = {"message": "Hello, World!"}
START_TIMEOUT = 90
PROBE = "/api/v1/user/greeting"  # the peer has no /ready
# The api again with tracing on (to the log server's OTLP receiver), at these sampling ratios.
TRACED = {"traced": "1.0", "sampled": "0.1"}
# The api again under the other server API_SERVER offers: the server as an A/B in every run.
OTHER_SERVER = {"granian": "uvicorn", "uvicorn": "granian"}


@dataclass(frozen=True)
class Ports:
    api: int
    traced: int  # the api with tracing on, every trace kept
    sampled: int  # with tracing on, one trace in ten kept
    other_server: int  # the api under the other API_SERVER
    baseline: int
    peer: int
    peer_quiet: int
    postgres: int
    redis: int
    logserver: int  # part: logserver

    @classmethod
    def free(cls) -> Ports:
        return cls(*(free_port() for _ in range(len(fields(cls)))))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def isolated(state_dir: Path, ports: Ports, workers: int) -> IsolatedRun:
    """What every bench process sees: production settings, the bench's own state and ports."""
    return isolated_run(
        state_dir,
        environment="production",
        api_reload="false",
        api_workers=str(workers),
        bind_host="127.0.0.1",
        api_port=str(ports.api),
        postgres_host="127.0.0.1",
        postgres_port=str(ports.postgres),
        redis_host="127.0.0.1",
        redis_port=str(ports.redis),
        # part: logserver
        logserver_host="127.0.0.1",
        logserver_port=str(ports.logserver),
        logserver_enabled="true",
        log_base_path=str(state_dir / "logs"),
        # end part: logserver
    )


Launch = Callable[..., Supervised]


def start(stack: ExitStack, run: IsolatedRun, log_dir: Path, ports: Ports) -> None:
    """Starts everything, each stopped by `stack` on the way out; returns once all serve."""
    settings, env = run.settings, run.env

    def launch(name: str, argv: list[str], stop: int = signal.SIGTERM, **more: str) -> Supervised:
        process = Supervised(name, argv, {**env, **more}, log_dir, stop, cwd=ROOT)
        return stack.enter_context(process)

    start_stores(launch, settings)
    prepare_database(env, settings)
    start_servers(launch, ports, settings.api_workers)
    start_other_server(launch, ports, settings)
    start_traced(launch, ports, settings)


def start_stores(launch: Launch, settings: Settings) -> None:
    """Postgres, Redis (and the log server), each through its own launcher."""
    # SIGINT is Postgres's fast shutdown: it does not wait for the api's pooled connections.
    postgres = launch("postgres", [DEV, "run", "postgres"], signal.SIGINT)
    redis_server = launch("redis", [DEV, "run", "redis"])
    # part: logserver
    logserver = launch("logserver", [DEV, "run", "logserver"])
    port = settings.port("logserver_port")
    logserver.wait_until(
        lambda: logserver_answers(port, settings.logserver_token_value),
        START_TIMEOUT,
        "answering a sync",
    )
    # end part: logserver
    postgres.wait_until(lambda: postgres_ready(settings), START_TIMEOUT, "accepting connections")
    redis_server.wait_until(lambda: redis_ping(settings), START_TIMEOUT, "answering PING")


def peer_argv(port: int, workers: int, access_log: bool) -> list[str]:
    """The peer as its user runs it: `uvicorn bench.peer:app`, uvicorn's defaults otherwise (its
    access log goes to stdout, which the bench writes to the peer's log file)."""
    argv = [sys.executable, "-m", "uvicorn", "bench.peer:app", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--workers", str(workers)]
    return argv if access_log else [*argv, "--no-access-log"]


def start_servers(launch: Launch, ports: Ports, workers: int) -> None:
    """The api as the runtime image runs it, the baseline with the same server options, and the
    peer with and without its access log."""
    servers = {
        launch("api", [sys.executable, "-m", "app"]): f"{ports.api}/ready",
        launch(
            "baseline", [sys.executable, "-m", "bench.baseline"], API_PORT=str(ports.baseline)
        ): f"{ports.baseline}/",
        launch("peer", peer_argv(ports.peer, workers, access_log=True)): f"{ports.peer}{PROBE}",
        launch(
            "peer_quiet", peer_argv(ports.peer_quiet, workers, access_log=False)
        ): f"{ports.peer_quiet}{PROBE}",
    }
    for process, where in servers.items():
        url = f"http://127.0.0.1:{where}"
        process.wait_until(partial(http_ok, url), START_TIMEOUT, url)


def start_other_server(launch: Launch, ports: Ports, settings: Settings) -> None:
    """The api as above under the server API_SERVER does not choose (granian or uvicorn)."""
    other = OTHER_SERVER[settings.api_server]
    process = launch(
        f"api {other}",
        [sys.executable, "-m", "app"],
        API_PORT=str(ports.other_server),
        API_SERVER=other,
    )
    url = f"http://127.0.0.1:{ports.other_server}/ready"
    process.wait_until(partial(http_ok, url), START_TIMEOUT, url)


def start_traced(launch: Launch, ports: Ports, settings: Settings) -> None:
    """The api as above with tracing on, exporting every span it keeps to the log server (the
    `make dev` receiver) when there is one; a collector elsewhere costs the api the same: batching
    and sending run on the SDK's thread."""
    exporter: dict[str, str] = {}  # without it: the OTEL_* variables, if any
    # part: logserver
    # As `make dev` exports them: the receiver's address and token (scripts.stack).
    exporter = tracing_environment(settings, {})
    # end part: logserver
    for name, ratio in TRACED.items():
        port = getattr(ports, name)
        process = launch(
            f"api {name}",
            [sys.executable, "-m", "app"],
            API_PORT=str(port),
            TRACING="true",
            TRACING_SAMPLE_RATIO=ratio,
            **exporter,
        )
        url = f"http://127.0.0.1:{port}/ready"
        process.wait_until(partial(http_ok, url), START_TIMEOUT, url)


def prepare_database(env: dict[str, str], settings: Settings) -> None:
    """`alembic upgrade head` (as the migrate process runs it), then exactly SEED_USERS users."""
    print("--> alembic upgrade head", flush=True)
    run_checked(alembic_argv("upgrade", "head"), env, "alembic upgrade head", cwd=ROOT)
    print(f"--> seeding {SEED_USERS:,} users", flush=True)
    asyncio.run(_seed(settings))


async def _seed(settings: Settings) -> None:
    rows = [
        (
            f"user{n:04d}",
            f"user{n:04d}@example.com",
            18 + n % 60,
            f"+1555{n:07d}",
            f"{n} Bench Street",
        )
        for n in range(1, SEED_USERS + 1)
    ]
    connection = await asyncpg.connect(settings.postgres_dsn)
    try:
        async with connection.transaction():
            await connection.execute("truncate users restart identity")
            await connection.copy_records_to_table("users", records=rows, columns=USER_COLUMNS)
        await connection.execute("analyze users")
    finally:
        await connection.close()
