"""A function run in a process of its own, as a new interpreter would run it, without a new
interpreter's imports each time (the app's are most of a second): each process is forked from one
that has imported the app, the test client and OpenTelemetry's SDK and done nothing else
(multiprocessing's forkserver). So no settings have been read in it, no logging configured and no
tracer provider set when the function starts; its environment is the one given, and what it
writes to stderr is handed back. Unlike an interpreter's end, atexit handlers do not run after
it: the function shuts down what it set up (logging.shutdown(), say)."""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

# Imported once, by the server the processes are forked from. A function is sent by name, so each
# process imports the test module that holds it, and with it pytest (~50 ms a process if not here).
PRELOAD = (
    "app.main",
    "fastapi.testclient",
    "opentelemetry.sdk.trace",
    "opentelemetry.sdk.trace.export.in_memory_span_exporter",
    "pytest",
)


T = TypeVar("T")


@functools.cache
def _context() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    return context


def run_fresh(
    function: Callable[..., T],
    *args: Any,
    env: Mapping[str, str],
    stderr: Path,
    timeout: float = 60,
) -> tuple[T, str]:
    """`function(*args)` (a module-level function: it is sent by name) in a new process with
    environment `env`, its stderr written to the file `stderr`; its result and that stderr. It
    failing, dying or running past `timeout` fails here, with its traceback and its stderr."""
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_call, args=(sender, function, args, dict(env), str(stderr)))
    process.start()
    sender.close()
    name = function.__qualname__
    try:
        if not receiver.poll(timeout):
            process.kill()
            raise AssertionError(f"{name} ran past {timeout} s; its stderr:\n{_read(stderr)}")
        ok, value = receiver.recv()
    except EOFError:
        process.join()
        raise AssertionError(
            f"{name}'s process ended ({process.exitcode}) without a result; its stderr:\n"
            + _read(stderr)
        ) from None
    finally:
        process.join(5)  # it ends once it has sent its result (or was killed)
        if process.is_alive():
            process.kill()
            process.join()
        receiver.close()
    if not ok:
        raise AssertionError(f"{name} failed in its process:\n{value}its stderr:\n{_read(stderr)}")
    return value, stderr.read_text()


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _call(
    sender: Connection,
    function: Callable[..., Any],
    args: tuple[Any, ...],
    env: dict[str, str],
    stderr: str,
) -> None:
    from opentelemetry import trace

    from core.settings import get_settings

    with open(stderr, "wb") as file:
        os.dup2(file.fileno(), 2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # not the stdout of whichever test started the server
    try:
        # What the function may rely on, as in a new interpreter: an import that starts doing
        # any of this belongs out of PRELOAD.
        assert get_settings.cache_info().currsize == 0, "the settings were read before it ran"
        assert not logging.getLogger().handlers, "logging was configured before it ran"
        assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"
        os.environ.clear()
        os.environ.update(env)
        sender.send((True, function(*args)))
    except BaseException:
        sender.send((False, traceback.format_exc()))
    finally:
        sys.stderr.flush()
        sender.close()


def spans_in_memory() -> InMemorySpanExporter:
    """For a function run fresh: sets the global tracer provider (once a process) to one that
    keeps every span in memory, before any app exists, so that an app's own setup keeps it; its
    exporter, to read and clear the spans with."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter
