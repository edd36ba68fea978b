"""`python -m bench`: the api under wrk against a raw ASGI baseline and the peer, plain FastAPI
(`make bench`), or the dev loop's waits (`--dev-loop`, `make bench-dev`)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from core.settings import ROOT, get_settings

cli = typer.Typer(help=__doc__, add_completion=False)


@cli.command()
def bench(
    duration: Annotated[int, typer.Option(min=1, help="Seconds per endpoint, over 3 rounds.")] = 10,
    connections: Annotated[int, typer.Option(min=1, help="wrk's open connections (-c).")] = 64,
    threads: Annotated[int, typer.Option(min=1, help="wrk's threads (-t).")] = 2,
    workers: Annotated[
        int, typer.Option(min=1, envvar="WORKERS", help="API worker processes (API_WORKERS).")
    ] = 1,
    tiny: Annotated[
        bool,
        typer.Option(
            "--tiny", help="1 s per endpoint, 4 connections; output under .state/bench/tiny."
        ),
    ] = False,
    dev_loop: Annotated[
        bool,
        typer.Option(
            "--dev-loop", help="Instead: cold start, reload, worker restart, log server figures."
        ),
    ] = False,
    existing_state: Annotated[
        bool,
        typer.Option(
            "--existing-state",
            help="With --dev-loop: keep the last run's state and skip the fresh cold start.",
        ),
    ] = False,
) -> None:
    """Benchmark the API under wrk (production server settings) against a raw ASGI baseline and
    the same endpoints in plain FastAPI (the peer)."""
    os.chdir(ROOT)
    settings = get_settings()
    if dev_loop:
        from bench import devloop

        devloop.run(settings, fresh=not existing_state)
        return
    from bench import endpoints

    if tiny:
        endpoints.run(settings, endpoints.Options.tiny_run(workers))
    else:
        endpoints.run(settings, endpoints.Options(duration, connections, threads, workers))


def main() -> None:
    cli(prog_name="python -m bench")
