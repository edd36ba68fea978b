"""`dev`: the developer CLI. The stack (up, down, status) and one component at a time (run)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from app.settings import ROOT, get_settings
from scripts import stack
from scripts import components
from scripts.components import RUNNERS

cli = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)


@cli.callback()
def _at_root() -> None:
    os.chdir(ROOT)


@cli.command()
def up(
    tui: Annotated[bool | None, typer.Option(help="Interactive TUI (default: on a terminal).")] = None,
) -> None:
    """Start the whole stack under process-compose (Ctrl-C or 'dev down' stops it)."""
    stack.up(get_settings(), tui)


@cli.command()
def down() -> None:
    """Stop the running stack: every process, and process-compose itself."""
    stack.client(get_settings(), "down")


@cli.command()
def status() -> None:
    """Show each process of the running stack: state, health, restarts."""
    stack.client(get_settings(), "process", "list", "--output", "wide")


@cli.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    ctx: typer.Context,
    component: Annotated[str, typer.Argument(help=f"One of: {', '.join(RUNNERS)}.")],
    debug: Annotated[bool, typer.Option(
        "--debug", help="Run under debugpy, listening on the component's debug port.")] = False,
    wait: Annotated[bool, typer.Option(
        "--wait", help="With --debug: wait for a debugger to attach before running.")] = False,
) -> None:
    """Run one component in the foreground with the project settings; extra args go to it."""
    components.run(get_settings(), component, list(ctx.args), debug, wait)


def main() -> None:
    cli()
