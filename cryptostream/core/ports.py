"""TCP ports on 127.0.0.1: finding a free one and asking whether one answers."""
from __future__ import annotations

import random
import socket
from pathlib import Path

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST = 20_000  # well above the well-known and registered ports servers here use
# every port this process handed out: a stack's ten ports are picked before any is bound, so a
# random pick could repeat one of them (seen in CI: the producer's metrics port was another
# program's, and the producer exited until supervisord gave up)
_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now and this process never handed out,
    below the kernel's ephemeral range: a port from bind(0) lies in that range, where any outgoing
    connection may take it as its local port before the server it was picked for binds it (seen
    as EADDRINUSE in CI)."""
    first_ephemeral = _first_ephemeral()
    for port in random.sample(range(LOWEST, first_ephemeral), min(200, first_ephemeral - LOWEST)):
        if port not in _handed_out and _bindable(port):
            return _hand_out(port)
    with socket.socket() as probe:  # no room below the range: let the kernel choose
        probe.bind(("127.0.0.1", 0))
        return _hand_out(probe.getsockname()[1])


def _hand_out(port: int) -> int:
    _handed_out.add(port)
    return port


def _first_ephemeral() -> int:
    try:
        return max(LOWEST, int(EPHEMERAL_RANGE.read_text().split()[0]))
    except (OSError, ValueError, IndexError):
        return LOWEST


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0
