"""`make stack`: compose.yaml deployed to a Docker Swarm, transformed at deploy time.

There is one compose file. `docker stack deploy` rejects or ignores parts of it, so this
module rewrites it on the way in and pipes it to `docker stack deploy -c -`:
- `depends_on` goes (a Swarm ignores it and rejects its long form); a service that waited for
  migrate to complete first waits for the schema at head instead, and one that waited for
  postgres (migrate) for the database to answer (`python -m app.db.schema_head`, as the
  Kubernetes init containers do), then runs its command;
- a health check's `start_interval` goes (Docker 25 compose only; the stack schema rejects it);
- `version: "3.9"` is set when the file has none (Docker 20.10's stack schema needs it);
- with SWARM_MESH=off (`--no-mesh`) published ports become `mode: host` and every service gets
  `deploy.endpoint_mode: dnsrr`: for kernels without IPVS, where the routing mesh and service
  VIPs do not work (one host port per task, so at most one api task per node per port);
  SWARM_PORTS=dynamic also drops the published numbers: each task then gets a free host port
  of its node (`docker inspect` names it), so one node may run several api tasks.
RESOLVE_IMAGE (default `always`; `never` with no registry) is passed to `--resolve-image`.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).resolve().parent.parent / "compose.yaml"


def _host_ports(ports: list[Any]) -> list[dict[str, Any]]:
    """Published ports in the long form, `mode: host`."""
    result: list[dict[str, Any]] = []
    for port in ports:
        if isinstance(port, dict):
            result.append({**port, "mode": "host"})
            continue
        rest, _, target = str(port).rpartition(":")
        entry: dict[str, Any] = {"target": int(target), "mode": "host"}
        address = re.match(r"^[0-9.]+:(.*)$", rest)
        if address:  # a stack's ports have no host_ip: a swarm publishes on every address
            rest = address.group(1)
        if rest:  # a number or a ${VARIABLE:-default} that the stack command interpolates
            entry["published"] = int(rest) if rest.isdigit() else rest
        result.append(entry)
    return result


# The wait a service runs first, by the service its depends_on named (the seconds: a swarm
# restarts a task that gives up).
WAITS = {
    "migrate": "python -m app.db.schema_head 600",
    "postgres": "python -m app.db.schema_head --reachable 600",
}


def _after(wait: str, command: list[str]) -> list[str]:
    """`command`, run once `wait` exits 0 (`$$`: the stack command interpolates `$`)."""
    return ["sh", "-c", f'{wait} && exec "$$@"', "sh", *command]


def for_swarm(
    compose: dict[str, Any], *, mesh: bool = True, dynamic_ports: bool = False
) -> dict[str, Any]:
    """compose.yaml as `docker stack deploy` takes it (see the module's docstring)."""
    compose.setdefault("version", "3.9")
    for service in compose["services"].values():
        depends_on = service.pop("depends_on", None) or {}
        waits = [WAITS[name] for name in WAITS if name in depends_on]
        if waits and isinstance(service.get("command"), list):
            service["command"] = _after(waits[0], service["command"])
        healthcheck = service.get("healthcheck")
        if isinstance(healthcheck, dict):
            healthcheck.pop("start_interval", None)
        if not mesh:
            if "ports" in service:
                service["ports"] = _host_ports(service["ports"])
                if dynamic_ports:
                    for port in service["ports"]:
                        port.pop("published", None)
            service.setdefault("deploy", {})["endpoint_mode"] = "dnsrr"
    return compose


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="swarm", description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="the stack's name")
    parser.add_argument("--file", type=Path, default=COMPOSE)
    parser.add_argument(
        "--no-mesh",
        action="store_true",
        default=os.environ.get("SWARM_MESH", "on") == "off",
        help="host-mode ports and dnsrr (no IPVS); also SWARM_MESH=off",
    )
    parser.add_argument(
        "--dynamic-ports",
        action="store_true",
        default=os.environ.get("SWARM_PORTS") == "dynamic",
        help="with --no-mesh: a free host port for each task; also SWARM_PORTS=dynamic",
    )
    parser.add_argument("--print", action="store_true", help="print the file, deploy nothing")
    args = parser.parse_args(argv)
    compose = for_swarm(
        yaml.safe_load(args.file.read_text()),
        mesh=not args.no_mesh,
        dynamic_ports=args.dynamic_ports,
    )
    text = yaml.safe_dump(compose, sort_keys=False)
    if args.print:
        sys.stdout.write(text)
        return 0
    resolve = os.environ.get("RESOLVE_IMAGE", "always")
    command = ["docker", "stack", "deploy", "--resolve-image", resolve, "-c", "-", args.stack]
    return subprocess.run(command, input=text, text=True, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
