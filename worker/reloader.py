"""The dev supervisor of the worker and of beat: each Celery process is forked from a reloader that
holds the libraries imported, restarted on an edit, and brought back when it dies.

watchfiles, which ran them before, spawned a fresh interpreter for each change (importing Celery
and the app again: most of a 4 s restart) and never noticed a worker that died: after a `kill -9`
it kept a zombie whose pid passed the readiness probe. This reloader:

- imports, before forking, the library modules its last child reported (core/preload.py), and
  purges its own project modules in each child, so a child imports only the project, fresh;
- on an edit under the watched folders, stops the child as process-compose would (SIGTERM:
  Celery's warm shutdown, running tasks finish), kills what is left of its process group after
  `STOP_SECONDS`, and forks the next one;
- reaps a child that dies (a `kill -9`, the OOM killer), kills the rest of its process group (the
  pool processes, so an orphan never runs a task on while it runs again), removes its readiness
  file and pid file, and forks the next one at once. A child that exits with an error by itself
  (an import error, a syntax error) waits for the next edit. Until the next child is ready, the
  probes fail at once (`<file>.dead` beside the file, see scripts/ready.sh); at a cold start they
  wait for the first one;
- runs each worker with a redelivery list of its own in Redis (`unacked:<node name>`), which the
  next worker puts back in the queue before it consumes: a task the dead worker had reserved or
  was running runs again within a second, instead of after the broker's visibility timeout. Only
  a worker of this node name uses that list, and the one before is dead by then, so a task never
  runs twice at once.

Every child and every pool process dies with its parent (PR_SET_PDEATHSIG): a reloader killed
with SIGKILL leaves no worker behind to run a task the next one takes back.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import watchfiles

from core import preload
from core.settings import Settings

STOP_SECONDS = 10  # a restart waits this long for running tasks before killing the worker
POLL_SECONDS = 0.2  # how often the reloader looks for a child that died
QUICK_DEATH_SECONDS = 1.0  # a child killed sooner than this after its start is restarted after it
PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def say(message: str) -> None:
    """One line in the pane (the reloader's own, before and between its children)."""
    print(f"--> reloader: {message}", file=sys.stderr, flush=True)


class Reloader:
    """Runs `celery <argv>` (argv[0] is worker or beat) in a forked child until stopped."""

    def __init__(self, settings: Settings, argv: Sequence[str], watched: Sequence[Path]) -> None:
        self.argv = list(argv)
        self.command = self.argv[0]
        self.watched = list(watched)
        self.libraries = settings.run_dir / f"{self.command}-libraries.txt"
        # The files the probes read: removed when the child that wrote them dies.
        self.pid_files = [settings.run_dir / "worker.ready", settings.run_dir / "beat.pid"]
        # While it exists, a child died and the next is not ready yet: the probe of this
        # command's file (worker.ready or beat.pid) fails at once instead of waiting for it.
        file = self.pid_files[0] if self.command == "worker" else self.pid_files[1]
        self.dead_marker = file.with_name(f"{file.name}.dead")
        self.stopping = threading.Event()
        self.child: int | None = None
        self.started = 0.0
        self._libraries_seen = 0.0

    def serve(self) -> int:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._stop)
        self.dead_marker.parent.mkdir(parents=True, exist_ok=True)
        self.dead_marker.unlink(missing_ok=True)  # a first start: its probe waits for it
        self._preload()
        self._start()
        folders = ", ".join(f"{path.name}/" for path in self.watched)
        say(f"restarting {self.command} on changes under {folders}, or when it dies")
        changes = watchfiles.watch(
            *self.watched,
            watch_filter=watchfiles.PythonFilter(),
            stop_event=self.stopping,
            rust_timeout=int(POLL_SECONDS * 1000),
            yield_on_timeout=True,
            raise_interrupt=False,
        )
        for changed in changes:
            if self.stopping.is_set():
                break
            if changed:
                names = sorted({Path(path).name for _, path in changed})
                say(f"change detected in {', '.join(names)}: restarting {self.command}")
                self._stop_child()
                self._start()
            else:
                self._reap()
                self._preload()
        self._stop_child()
        return 0

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping.set()

    def _preload(self) -> None:
        """Imports the libraries the last child reported, when that list changed."""
        try:
            changed = self.libraries.stat().st_mtime
        except OSError:
            return
        if changed != self._libraries_seen:
            self._libraries_seen = changed
            names = preload.read_names(self.libraries)
            preload.preload(names)
            # Out of the collector's sight: a child's collections (billiard collects before each
            # fork of a pool process) skip the libraries' objects, a second saved per start.
            gc.freeze()

    def _start(self) -> None:
        self.started = time.monotonic()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # pragma: no cover (the child)
            os._exit(_child(self.argv, self.libraries, parent))
        self.child = pid

    def _reap(self) -> None:
        """Handles a child that ended by itself."""
        if self.child is None:
            return
        pid, status = os.waitpid(self.child, os.WNOHANG)
        if pid == 0:
            return
        self._ended(status)
        if os.WIFSIGNALED(status) or os.waitstatus_to_exitcode(status) == 0:
            # Killed (kill -9, the OOM killer), or stopped by a signal sent to it alone: back
            # at once, unless it keeps dying as it starts.
            if time.monotonic() - self.started < QUICK_DEATH_SECONDS:
                self.stopping.wait(QUICK_DEATH_SECONDS)
            if not self.stopping.is_set():
                say(f"starting {self.command} again")
                self._start()
        else:
            say(f"{self.command} failed: it starts again after the next change")

    def _ended(self, status: int) -> None:
        """The child is reaped: the rest of its group killed, its pid files removed."""
        assert self.child is not None
        pid, self.child = self.child, None
        _kill_group(pid)
        code = os.waitstatus_to_exitcode(status)
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exited with {code}"
        say(f"{self.command} (pid {pid}) {how}")
        self.dead_marker.touch()  # before the files go: a probe never sees neither
        for path in self.pid_files:
            try:
                if path.read_text().strip() == str(pid):
                    path.unlink()
            except (OSError, ValueError):
                continue

    def _stop_child(self) -> None:
        """SIGTERM (Celery's warm shutdown), then SIGKILL to its group after STOP_SECONDS."""
        if self.child is None:
            return
        try:
            os.kill(self.child, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + STOP_SECONDS
        while True:
            pid, status = os.waitpid(self.child, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() > deadline:
                say(f"{self.command} did not stop within {STOP_SECONDS}s: killing it")
                _kill_group(self.child)
                _, status = os.waitpid(self.child, 0)
                break
            time.sleep(0.02)
        self._ended(status)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def die_with_parent(parent: int) -> None:
    """This process gets SIGKILL when its parent dies (at once if it already has)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)


def _child(argv: list[str], libraries: Path, parent: int) -> int:
    """In a forked child: the project imported fresh, then `celery <argv>`; its exit code."""
    try:
        os.setpgid(0, 0)  # its pool processes share its group: killed with it
        die_with_parent(parent)
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        preload.purge_project_modules()
        from worker import supervised

        return supervised.run(argv, libraries)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()


def run(settings: Settings, argv: Sequence[str], watched: Sequence[Path]) -> None:
    """Supervises `celery <argv>` until SIGTERM/SIGINT; exits 0 then."""
    raise SystemExit(Reloader(settings, argv, watched).serve())


def main() -> None:
    """`python -m worker.reloader <worker|beat> [args]`, as `dev run` starts it under debugpy
    (which follows each fork: breakpoints hit in every worker the reloader starts)."""
    from core.components import by_name
    from core.settings import ROOT, get_settings

    argv = sys.argv[1:]
    run(get_settings(), argv, [ROOT / folder for folder in by_name(argv[0]).watched])


if __name__ == "__main__":
    main()
