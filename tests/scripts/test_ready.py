"""scripts/ready.sh, the dev stack's readiness probes: each waits for its process up to 1.5 s,
and passes as soon as it is ready."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from core.settings import ROOT
from logserver.probe import WAIT_SECONDS  # part: logserver
from tests.support.processes import stderr_of_an_orphaned_probe

READY = str(ROOT / "scripts/ready.sh")


def probe(*args: str) -> tuple[int, float, str]:
    """Exit status, seconds and stderr of `ready.sh args`."""
    began = time.monotonic()
    done = subprocess.run([READY, *args], capture_output=True, text=True, timeout=10)
    return done.returncode, time.monotonic() - began, done.stderr


@pytest.mark.fast
def test_a_probe_passes_as_soon_as_its_process_is_ready(tmp_path: Path) -> None:
    pid_file = tmp_path / "worker.ready"
    later = threading.Timer(0.1, lambda: pid_file.write_text(str(os.getpid())))
    later.start()
    code, seconds, _ = probe("pid", str(pid_file))
    later.join()
    assert code == 0
    assert 0.1 <= seconds < 1.4  # waited for the file, and no longer (its wait is 1.5 s)


@pytest.mark.fast
def test_a_probe_gives_up_after_its_wait_and_once_does_not_wait(tmp_path: Path) -> None:
    missing = str(tmp_path / "none")
    code, seconds, stderr = probe("--wait", "0.1", "pid", missing)
    assert (code, stderr) == (1, f"not ready: pid {missing}\n")
    assert 0.1 <= seconds < 0.6
    code, seconds, _ = probe("--once", "pid", missing)
    assert code == 1 and seconds < 0.5
    code, _, stderr = probe("--wait", "soon", "pid", missing)
    assert code == 2 and "--wait needs seconds" in stderr


@pytest.mark.fast
def test_a_waiting_probe_stops_once_whoever_started_it_is_gone(tmp_path: Path) -> None:
    """A probe must not outlive the stack (process-compose stopped while the probe waited)."""
    port, stderr = stderr_of_an_orphaned_probe(
        lambda port: [READY, "--wait", "8", "http", port, "/ready"], tmp_path / "stderr", 6
    )
    assert (
        stderr
        == f"not ready: http {port} /ready (whoever started the probe is gone: it stops waiting)\n"
    )


@pytest.mark.fast
def test_the_default_wait_ends_inside_each_probe_timeout() -> None:
    """Waiting 1.5 s a probe is too slow to test here: its value is read instead, against the
    timeout of each waiting probe of process-compose.yaml and the log server's probe."""
    [micros] = re.findall(r"^wait_seconds_us=(\d+)$", Path(READY).read_text(), re.MULTILINE)
    wait = int(micros) / 1e6
    probes = {
        name: process["readiness_probe"]
        for name, process in yaml.safe_load((ROOT / "process-compose.yaml").read_text())[
            "processes"
        ].items()
        if "readiness_probe" in process
    }
    waiting = {
        name: probe["timeout_seconds"]
        for name, probe in probes.items()
        if "--once" not in probe["exec"]["command"]
    }
    assert "api" in waiting
    assert wait == WAIT_SECONDS and "logserver" in waiting  # part: logserver
    assert all(wait + 0.3 <= timeout for timeout in waiting.values()), waiting


@pytest.mark.fast
def test_a_pid_probe_needs_a_live_process_and_its_glob(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / "dead.pid").write_text(str(dead.pid))
    assert probe("--once", "pid", str(tmp_path / "dead.pid"))[0] == 1
    (tmp_path / "me.pid").write_text(str(os.getpid()))
    assert probe("--once", "pid", str(tmp_path / "me.pid"))[0] == 0
    schedule = str(tmp_path / "beat-schedule*")
    assert probe("--once", "pid", str(tmp_path / "me.pid"), schedule)[0] == 1
    (tmp_path / "beat-schedule.db").touch()
    assert probe("--once", "pid", str(tmp_path / "me.pid"), schedule)[0] == 0


@pytest.mark.fast
def test_a_pid_probe_does_not_wait_for_a_process_that_died(tmp_path: Path) -> None:
    """The reloader of the worker and beat leaves FILE.dead while it starts a dead one again."""
    pid_file = tmp_path / "worker.ready"
    (tmp_path / "worker.ready.dead").touch()
    code, seconds, _ = probe("pid", str(pid_file))
    assert code == 1 and seconds < 0.5  # not the 1.5 s wait
    pid_file.write_text(str(os.getpid()))  # the next one is ready: the marker no longer counts
    assert probe("pid", str(pid_file))[0] == 0
    (tmp_path / "worker.ready.dead").unlink()
    later = threading.Timer(0.1, lambda: pid_file.write_text(str(os.getpid())))
    pid_file.unlink()
    later.start()
    code, seconds, _ = probe("pid", str(pid_file))  # a first start is waited for
    later.join()
    assert code == 0 and seconds >= 0.1


@pytest.mark.fast
def test_an_unknown_check_is_refused_at_once() -> None:
    code, seconds, stderr = probe("mysql", "3306")
    assert code == 2 and seconds < 0.5
    assert stderr == "ready.sh: no check named 'mysql' (postgres, redis, http, pid)\n"
