"""The simulated exchange's health check: a GET of its ping route."""
from __future__ import annotations

import socket

from cryptostream.simulator.health import ping


def test_healthy_when_the_ping_route_answers(exchange) -> None:
    """A serving simulator answers its ping with 200."""
    healthy, what = ping(exchange.server_address[1])
    assert healthy
    assert "answered 200" in what


def test_unhealthy_when_nothing_listens() -> None:
    """A port without a server is unhealthy, and the line names the URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    healthy, what = ping(port, timeout=2)
    assert not healthy
    assert f"127.0.0.1:{port}" in what
