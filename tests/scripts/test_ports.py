"""scripts.ports.free_port, the ports the tests, the bench and isolated runs start servers on."""

from __future__ import annotations

import pytest

from scripts import ports

pytestmark = pytest.mark.fast


def test_free_ports_lie_below_the_range_of_outgoing_connections_and_do_not_repeat() -> None:
    given = [ports.free_port() for _ in range(50)]
    assert len(set(given)) == len(given)
    assert all(ports.LOWEST_FREE_PORT <= port < ports.ephemeral_floor() for port in given), given


def test_without_room_below_that_range_the_kernel_picks(monkeypatch: pytest.MonkeyPatch) -> None:
    floor = ports.ephemeral_floor()
    monkeypatch.setattr(ports, "ephemeral_floor", lambda: ports.LOWEST_FREE_PORT)
    assert ports.free_port() >= floor
