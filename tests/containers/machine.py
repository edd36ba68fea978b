"""The machine's network state that a container engine changes (iptables, links, forwarding):
read, compared, and restored to an earlier reading. The Docker tier checks with it that its
daemon and its swarm leave the machine as they found it."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.env.tools import run

IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
# Other engines on the machine (podman's netavark, another checkout's builds) add and remove
# these while a test runs; the comparison is about everything else.
OTHER_ENGINES = re.compile(r"NETAVARK|podman")


@dataclass(frozen=True)
class MachineState:
    """What a daemon changes on the machine: iptables (normalised: no counters, no comment
    lines, other engines' rules left out), the network links, and IPv4 forwarding."""

    iptables: tuple[str, ...]
    links: tuple[str, ...]
    ip_forward: str

    @classmethod
    def read(cls) -> MachineState:
        saved = run(["iptables-save"]).stdout.splitlines()
        rules = tuple(
            re.sub(r"\[\d+:\d+\]$", "[0:0]", line)
            for line in saved
            if line and not line.startswith("#") and not OTHER_ENGINES.search(line)
        )
        links = tuple(
            sorted(
                line.split(": ")[1].split("@")[0]
                for line in run(["ip", "-o", "link"]).stdout.splitlines()
                if not OTHER_ENGINES.search(line)
            )
        )
        return cls(rules, links, IP_FORWARD.read_text().strip())

    def policies(self) -> list[tuple[str, str, str]]:
        """(table, chain, policy) of the built-in chains (dockerd may set FORWARD's to DROP)."""
        found, table = [], ""
        for line in self.iptables:
            if line.startswith("*"):
                table = line[1:]
            elif line.startswith(":") and not line.endswith(" - [0:0]"):
                chain, policy = line[1:].split()[:2]
                found.append((table, chain, policy))
        return found

    def differences(self, after: MachineState) -> list[str]:
        """Lines `-` only before, `+` only after."""
        found = []
        for name in ("iptables", "links"):
            old, new = getattr(self, name), getattr(after, name)
            found += [f"{name} - {line}" for line in old if line not in new]
            found += [f"{name} + {line}" for line in new if line not in old]
        if self.ip_forward != after.ip_forward:
            found.append(f"ip_forward {self.ip_forward} -> {after.ip_forward}")
        return found


def restore(before: MachineState) -> None:
    """Deletes the links and the iptables rules and chains that appeared since `before`
    (a daemon's), and restores the built-in chains' policies and forwarding."""
    now = MachineState.read()
    for link in now.links:
        if link not in before.links:
            run(["ip", "link", "delete", link], check=False)
    for table in ("filter", "nat", "mangle", "raw"):
        _undo_table(table, before)
    for table, chain, policy in before.policies():
        run(["iptables", "-t", table, "-P", chain, policy], check=False)
    if IP_FORWARD.read_text().strip() != before.ip_forward:
        IP_FORWARD.write_text(before.ip_forward)


def _undo_table(table: str, before: MachineState) -> None:
    saved = [
        line
        for line in run(["iptables-save", "-t", table], check=False).stdout.splitlines()
        if not OTHER_ENGINES.search(line)
    ]
    rules = [line for line in saved if line.startswith("-A ") and line not in before.iptables]
    chains = [
        line[1:].split()[0]
        for line in saved
        if line.startswith(":") and line.endswith("- [0:0]") and line not in before.iptables
    ]
    for rule in rules:
        run(["iptables", "-t", table, "-D", *shlex.split(rule)[1:]], check=False)
    for chain in chains:
        run(["iptables", "-t", table, "-F", chain], check=False)
    for chain in chains:
        run(["iptables", "-t", table, "-X", chain], check=False)
