"""Test ports come from below the kernel's ephemeral range, where no outgoing connection can take them."""
from __future__ import annotations

import socket

from cryptostream.core import ports


def test_free_ports_are_below_the_ephemeral_range_and_bindable() -> None:
    first = ports._first_ephemeral()
    for _ in range(20):
        port = ports.free_port()
        assert ports.LOWEST <= port < first, f"{port} not in [{ports.LOWEST}, {first})"
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))  # raises if it was not free


def test_a_port_is_never_handed_out_twice() -> None:
    """A stack's ports are all picked before any is bound: 500 random picks from the ~12,700
    ports below the range would repeat one about ten times over if picks were not remembered."""
    picked = [ports.free_port() for _ in range(500)]
    assert len(set(picked)) == len(picked)
