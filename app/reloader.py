"""The dev server's auto-reload: uvicorn's watchfiles reloader, with each new server forked from a
reloader that holds the libraries imported already.

uvicorn's reloader spawns a fresh interpreter for each change, which imports FastAPI, SQLAlchemy,
Celery, redis and asyncpg all over again: about a second on two cores, most of a reload. This one
imports those libraries once and forks each server, which then imports only the project's own
modules, fresh from disk: a reload takes about a third of the time.

The reloader never imports project code, so nothing of an old version outlives a reload (a module
imported by a library, a handler a signal still holds). It learns which libraries to hold from its
first server, which reports the modules it imported from outside the project, and keeps that list
in the state dir: the next run loads them before its first server, so a cold start does not
import them twice. Under a debugger the api keeps uvicorn's own reloader, whose spawned servers
debugpy is known to follow.
"""

from __future__ import annotations

import gc
import importlib
import logging
import multiprocessing
import os
import select
import signal
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path
from socket import socket

from uvicorn import Config, Server
from uvicorn.supervisors.basereload import HANDLED_SIGNALS, logger
from uvicorn.supervisors.watchfilesreload import WatchFilesReload

from core import preload

_fork = multiprocessing.get_context("fork")


def run(config: Config, libraries: Path) -> None:
    """Serves `config` until SIGINT/SIGTERM, restarting the server when a watched file changes.

    `libraries` keeps the list of library modules between runs, so that the reloader can load
    them before its first server instead of after it."""
    sockets = [config.bind_socket()]
    ForkingReload(config, Server(config).run, sockets, libraries).run()


class _Server(Server):
    """uvicorn's server, which says on `ready` (a pipe's write end) when it serves."""

    def __init__(self, config: Config, ready: int | None) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket] | None = None) -> None:
        await super().startup(sockets)
        if self.ready is not None and self.started:
            os.write(self.ready, b"1")
        if self.ready is not None:
            os.close(self.ready)
            self.ready = None


class ForkingReload(WatchFilesReload):
    def __init__(
        self, config: Config, target: Callable[..., None], sockets: list[socket], libraries: Path
    ) -> None:
        super().__init__(config, target, sockets)
        self.reloader_name = "WatchFiles (forked servers)"
        self.libraries = libraries
        self._report: int | None = None  # a pipe's read end: a server's list of library modules
        self._preloaded = False

    def startup(self) -> None:
        logger.info("Started reloader process [%d] using %s", self.pid, self.reloader_name)
        for sig in HANDLED_SIGNALS:
            signal.signal(sig, self.signal_handler)
        # The last run's list: loaded here, the first server need not import them itself.
        known = preload.read_names(self.libraries)
        if known:
            preload.preload(known)
            gc.freeze()  # out of the collector's sight in every server forked from here
            logger.info("Reloader loaded %d library modules of the last run", len(known))
        self.process = self._start()  # type: ignore[assignment]  # forked, not spawned

    def should_restart(self) -> list[Path] | None:
        self._take_report(wait=False)  # between polls, so that even the first reload is quick
        return super().should_restart()

    def restart(self) -> None:
        """Forks the next server while the last one still serves, and stops the last one once
        the next serves (or has died: a syntax error's traceback is in the pane then): the
        edit's code serves as soon as it can, the old server's shutdown is off the path."""
        self._take_report(wait=True)
        previous = self.process
        ready, servers_end = os.pipe()
        self.process = self._start(servers_end)  # type: ignore[assignment]
        os.close(servers_end)
        with os.fdopen(ready, "rb") as stream:
            stream.read(1)  # a byte once it serves; EOF if it died first
        previous.terminate()
        previous.join()

    def _take_report(self, wait: bool) -> None:
        """Preloads the libraries a server reported, once it has (`wait`: or has ended), and
        keeps the list for the next run."""
        if self._report is None or not (wait or select.select([self._report], [], [], 0)[0]):
            return
        with os.fdopen(self._report, "rb") as stream:
            text = stream.read().decode()  # empty if that server died before it could report
        self._report = None
        names = text.split()
        if names:
            preload.preload(names)
            gc.freeze()
            self._preloaded = True
            preload.write_names(self.libraries, names)
            logger.info(
                "Reloader holds %d library modules: servers now import only the project's",
                len(names),
            )

    def _start(self, ready: int | None = None) -> BaseProcess:
        report = None
        if not self._preloaded:
            self._report, report = os.pipe()
        process = _fork.Process(
            target=_serve, args=(self.config, self.sockets, report, self._report, ready)
        )
        process.start()
        if report is not None:
            os.close(report)
        return process


def _serve(
    config: Config,
    sockets: list[socket],
    report: int | None,
    parents_end: int | None,
    ready: int | None,
) -> None:
    """In a forked server: report the libraries the app imports (until the reloader holds
    them), then serve, saying on `ready` when it does."""
    for sig in HANDLED_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)  # not the reloader's handlers: the Server sets its own
    if report is not None and parents_end is not None:
        os.close(parents_end)
        importlib.import_module(str(config.app).partition(":")[0])
        with os.fdopen(report, "w") as out:
            out.write("\n".join(preload.library_names()))
    try:
        config.configure_logging()
        _Server(config, ready).run(sockets=sockets)
    finally:
        logging.shutdown()  # a forked process ends in os._exit: atexit would not flush the logs
