"""Another local user on the same machine cannot use the dev stack: the log server refuses its
records (no token), Redis its commands (no password), Postgres its login (no password), and it
cannot read the state dir, the logs, the secrets or `.env`.

The other user is real: created with useradd when the tests run as root (CI), else this tier is
reported as not run. Its probes run with the system's Python, which it can execute."""

from __future__ import annotations

import json
import pwd
import shutil
import subprocess
from typing import Any

import pytest

from core.settings import ROOT, Settings, load_settings
from scripts import postgres
from tests.support.stack import start, stop
from tests.support.tiers import require_root, unavailable

pytestmark = pytest.mark.stack

OTHER_USER = "fastapi-stack-other"
SYSTEM_PYTHON = "/usr/bin/python3"

# Run as the other user: each attempt and what came of it, as JSON.
PROBE = r"""
import json, os, socket, sys

state, env_file, ports = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
result = {}

def talk(port, data):
    with socket.create_connection(("127.0.0.1", port), 5) as sock:
        sock.settimeout(5)
        sock.sendall(data)
        return sock.recv(4096).decode(errors="replace")

record = b'{"stream": "access", "component": "api", "message": "forged"}\n{"sync": 1}\n'
result["logserver"] = talk(ports["logserver"], record)  # part: logserver
result["redis"] = talk(ports["redis"], b"PING\r\n")
for name, path in [("state", state), ("logs", os.path.join(state, "logs")),
                   ("secrets", os.path.join(state, "secrets")), ("env", env_file)]:
    try:
        os.listdir(path) if os.path.isdir(path) or name != "env" else open(path).read()
        result[name] = "read"
    except PermissionError:
        result[name] = "denied"
print(json.dumps(result))
"""


def other_user() -> pwd.struct_passwd:
    require_root("second-user", "creating a second local user")
    try:
        return pwd.getpwnam(OTHER_USER)
    except KeyError:
        pass
    if shutil.which("useradd") is None:
        unavailable("second-user", "useradd is missing", "install passwd (apt-get install passwd)")
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OTHER_USER],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(OTHER_USER)


def as_other(user: pwd.struct_passwd, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        cwd="/",
        env={"PATH": "/usr/bin:/bin", "HOME": "/"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_another_user_cannot_use_or_read_the_stack(
    stack_settings: tuple[Settings, dict[str, str]],
) -> None:
    user = other_user()
    settings, overrides = stack_settings
    up = start(settings, overrides, "other-user")
    try:
        settings = load_settings(**{k.lower(): v for k, v in overrides.items()})  # its secrets
        ports = {
            "redis": settings.port("redis_port"),
            "logserver": settings.port("logserver_port"),  # part: logserver
        }
        probe = as_other(
            user,
            [
                SYSTEM_PYTHON,
                "-c",
                PROBE,
                str(settings.state_dir),
                str(ROOT / ".env"),
                json.dumps(ports),
            ],
        )
        assert probe.returncode == 0, probe.stderr
        seen: dict[str, Any] = json.loads(probe.stdout)
        # part: logserver
        assert json.loads(seen["logserver"]) == {
            "error": 'token required: send {"auth": "<token>"} first'
        }
        # end part: logserver
        assert seen["redis"].startswith("-NOAUTH"), seen["redis"]
        assert {seen[name] for name in ("state", "logs", "secrets", "env")} == {"denied"}, seen
        client = str(postgres.bin_dir(settings) / "psql")  # the lock's
        socket_dir = str(postgres.Layout.of(settings).socket_dir)
        for host, refusal in (("127.0.0.1", "no password supplied"), (socket_dir, "")):
            login = as_other(
                user,
                [client, "-h", host, "-p", str(settings.postgres_port), "-U",
                 settings.postgres_user, "-d", settings.postgres_db, "-w", "-c", "select 1"],
            )  # fmt: skip
            # Over TCP it wants the password; the socket's folder is the owner's alone.
            assert login.returncode != 0 and refusal in login.stderr, (host, login.stderr)
    finally:
        stop(settings, up)
