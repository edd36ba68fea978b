"""The `--docker-path` that tests/containers/test_devcontainer.py gives the Dev Containers CLI:
podman itself, with the two changes this machine needs, made here and nowhere else (the
checkout's devcontainer.json and Dockerfile stay as users get them).

1. `build`: the Go module proxy reachable here refuses process-compose v1.94.0, the version the
   Dockerfile and devcontainer.json pin; it serves v1.87.0 (the version bootstrap falls back
   to). A `--build-arg` given last wins over the CLI's, so the pin itself stays.
2. `run` as root: the CLI adds `--userns=keep-id` for podman whenever the remote user is not
   root, which rootful podman refuses ("keep-id is only supported in rootless mode",
   devcontainers/cli#1004). What keep-id does for a rootless user, making the host user the
   container's user, is for root the mapping of host uid/gid 0 to the remote user's
   (`keep-id:uid=1000,gid=1000` in rootless terms); the container's root becomes host uid 1.

Environment: SHIM_PODMAN (the podman program), SHIM_BUILD_ARGS (NAME=value, space-separated),
SHIM_REMOTE_UID (the remote user's uid in the image).
"""

from __future__ import annotations

import os
import sys

ID_RANGE = 65536


def root_as_user(uid: int) -> list[str]:
    """uid/gid maps where the container's `uid` is the host's root and the rest is shifted."""
    ranges = [(0, 1, uid), (uid, 0, 1), (uid + 1, uid + 1, ID_RANGE - uid - 1)]
    return [
        f"--{kind}map={inside}:{outside}:{count}"
        for kind in ("uid", "gid")
        for inside, outside, count in ranges
    ]


def rewrite(argv: list[str], *, build_args: list[str], remote_uid: int, euid: int) -> list[str]:
    """The podman arguments for the CLI's `argv`."""
    if argv[:1] == ["build"]:
        return [*argv, *(option for arg in build_args for option in ("--build-arg", arg))]
    if argv[:1] == ["run"] and euid == 0 and "--userns=keep-id" in argv:
        at = argv.index("--userns=keep-id")
        return [*argv[:at], *root_as_user(remote_uid), *argv[at + 1 :]]
    return argv


def main() -> None:
    podman = os.environ["SHIM_PODMAN"]
    argv = rewrite(
        sys.argv[1:],
        build_args=os.environ.get("SHIM_BUILD_ARGS", "").split(),
        remote_uid=int(os.environ["SHIM_REMOTE_UID"]),
        euid=os.geteuid(),
    )
    os.execv(podman, [podman, *argv])


if __name__ == "__main__":
    main()
