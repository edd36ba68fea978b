"""The project-local Postgres: `initdb` on first run, then `postgres` in the foreground.

The binaries are the lock's (scripts/servers.py). As root (CI, containers) Postgres refuses to
run, so the launcher hands the state directory to an unprivileged `postgres` user (a system user
it creates when missing) and drops to it before `exec`; otherwise it runs as the caller.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from core.settings import Settings
from scripts import servers
from scripts.launch import LaunchError, exec_command
from scripts.ports import ensure_port_free, ensure_socket_path

UNPRIVILEGED_USER = "postgres"


@dataclass(frozen=True)
class Layout:
    data_dir: Path
    socket_dir: Path

    @classmethod
    def of(cls, settings: Settings) -> Layout:
        return cls(settings.state_dir / "postgres", settings.run_dir / "postgres")


def bin_dir(settings: Settings) -> Path:
    """The folder of the Postgres binaries (the lock's, or the PATH's with DEV_SERVERS=path)."""
    return servers.postgres_bin_dir(settings)


def run_as() -> pwd.struct_passwd | None:
    """The user to drop to: `postgres` when we are root, nobody otherwise."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        pass
    print(f"--> useradd --system {UNPRIVILEGED_USER} (Postgres refuses to run as root)", flush=True)
    created = subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            UNPRIVILEGED_USER,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        raise LaunchError(
            f"postgres: running as root, Postgres refuses root, and useradd failed "
            f"({created.stderr.strip() or created.returncode}): create an unprivileged "
            f"'{UNPRIVILEGED_USER}' user or run as a normal user"
        ) from None


def closed_parents(path: Path) -> list[Path]:
    """The parent folders that other users cannot enter."""
    return [
        parent
        for parent in reversed(path.parents)
        if parent.exists() and not parent.stat().st_mode & stat.S_IXOTH
    ]


def hand_over(layout: Layout, user: pwd.struct_passwd) -> None:
    """Makes the data and socket folders the unprivileged user's, and reachable by it."""
    for parent in dict.fromkeys(
        [*closed_parents(layout.data_dir), *closed_parents(layout.socket_dir)]
    ):
        # e.g. a checkout under /root (mode 700): allow passing through, not listing.
        print(
            f"--> chmod o+x {parent} (so that '{user.pw_name}' can reach the state dir)", flush=True
        )
        parent.chmod(parent.stat().st_mode | stat.S_IXOTH)
    for folder in (layout.data_dir, layout.socket_dir):
        folder.mkdir(parents=True, exist_ok=True)
        for path in [folder, *folder.rglob("*")]:
            os.lchown(path, user.pw_uid, user.pw_gid)


def drop_privileges(user: pwd.struct_passwd | None) -> None:
    if user is None:
        return
    os.setgroups([])
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)
    os.environ.update(HOME=user.pw_dir, USER=user.pw_name, LOGNAME=user.pw_name)


def initdb(
    settings: Settings, layout: Layout, bindir: Path, user: pwd.struct_passwd | None
) -> None:
    """Creates the cluster and the app database in a side folder, then moves it in place."""
    staging = layout.data_dir.with_name("postgres.initdb")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    password_file = staging.with_name("postgres.password")
    password_file.write_text(settings.secret("postgres_password") or "")
    if user is not None:
        os.chown(staging, user.pw_uid, user.pw_gid)
        os.chown(password_file, user.pw_uid, user.pw_gid)
    try:
        _run_as(
            user,
            [
                str(bindir / "initdb"),
                "-D",
                str(staging),
                "-U",
                settings.postgres_user,
                f"--pwfile={password_file}",
                # The socket too asks for the password (and is the owner's alone, see launch):
                # no other local user gets in as superuser.
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
            ],
        )
        _run_as(
            user,
            [str(bindir / "postgres"), "--single", "-D", str(staging), "postgres"],
            stdin=f'CREATE DATABASE "{settings.postgres_db}";\n',
        )
    finally:
        password_file.unlink(missing_ok=True)
    staging.rename(layout.data_dir)


def _run_as(user: pwd.struct_passwd | None, argv: Sequence[str], stdin: str | None = None) -> None:
    result = subprocess.run(
        argv,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=(lambda: drop_privileges(user)) if user else None,
    )
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise LaunchError(f"postgres: {Path(argv[0]).name} failed: {' / '.join(tail)}")


def check_version(layout: Layout) -> None:
    """Refuses a cluster another major made, before anything on disk is touched."""
    version_file = layout.data_dir / "PG_VERSION"
    if not version_file.exists():
        return
    found = version_file.read_text().strip()
    if found != str(servers.POSTGRES_MAJOR):
        raise LaunchError(
            f"postgres: {layout.data_dir} was made by Postgres {found} and the stack runs "
            f"{servers.POSTGRES_MAJOR}: it is left as it is. To keep its data, dump it with a "
            f"Postgres {found} server running on it (pg_dumpall -h {layout.socket_dir} -p PORT "
            f"> dump.sql), move it aside, run 'make dev', then load the dump (psql -h "
            f"{layout.socket_dir} -p PORT -d postgres -f dump.sql); or drop it: 'make clean-state'"
        )


def launch(settings: Settings, extra_args: Sequence[str] = ()) -> NoReturn:
    """Initialises on first run, then becomes the Postgres server (foreground)."""
    layout = Layout.of(settings)
    check_version(layout)
    bindir = bin_dir(settings)
    servers.check_major("postgres", bindir / "postgres", servers.POSTGRES_MAJOR)
    user = run_as()
    ensure_port_free("postgres", settings.postgres_host, settings.port("postgres_port"))
    ensure_socket_path("postgres", layout.socket_dir / f".s.PGSQL.{settings.postgres_port}")
    layout.data_dir.parent.mkdir(parents=True, exist_ok=True)
    layout.socket_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if user is not None:
        hand_over(layout, user)
    if not (layout.data_dir / "PG_VERSION").exists():
        print(f"--> initdb {layout.data_dir}", flush=True)
        initdb(settings, layout, bindir, user)
        if user is not None:
            hand_over(layout, user)
    drop_privileges(user)
    exec_command(
        [
            str(bindir / "postgres"),
            "-D",
            str(layout.data_dir),
            "-k",
            str(layout.socket_dir),
            "-h",
            settings.postgres_host,
            "-p",
            str(settings.postgres_port),
            "-c",
            "unix_socket_permissions=0700",
            "-c",
            "logging_collector=off",
            "-c",
            "log_destination=stderr",
            *extra_args,
        ]
    )
