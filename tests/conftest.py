"""Shared fixtures: free loopback ports and the simulated exchange in a thread (real HTTP)."""
from __future__ import annotations

import os
import stat
from typing import Iterator

import pytest

from cryptostream.simulator import server as simulator
from cryptostream.core.ports import free_port

__all__ = ["free_port", "url_of", "exchange"]

# testcontainers' reaper image cannot be pulled here; the fixtures stop their containers.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")


# Any of these makes a test more than a unit test; every other test is marked unit.
NOT_UNIT = {"integration", "e2e", "fault", "badinput", "scaleout", "fresh"}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if not NOT_UNIT & {mark.name for mark in item.iter_markers()}:
            item.add_marker(pytest.mark.unit)


@pytest.fixture(scope="session", autouse=True)
def stack_homes_reachable(tmp_path_factory) -> None:
    """Started by root, a stack's servers run as an unprivileged user (ops/service_user.py),
    which must be able to enter pytest's temporary folders (0700): traverse, not list."""
    if os.geteuid() == 0:
        base = tmp_path_factory.getbasetemp()
        for folder in (base.parent, base):
            folder.chmod(stat.S_IMODE(folder.stat().st_mode) | stat.S_IXOTH)


@pytest.fixture
def exchange() -> Iterator[simulator.ThreadingHTTPServer]:
    """A simulated exchange on a free 127.0.0.1 port, seed 7."""
    server = simulator.make_server(port=0, seed=7)
    simulator.start_in_thread(server)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def stream_exchange() -> Iterator[tuple]:
    """The simulated exchange with its trade stream (WebSocket), pinging every 0.5 s."""
    server = simulator.make_server(port=0, seed=7)
    simulator.start_in_thread(server)
    ws = simulator.stream(server, 0, ping_interval=0.5)
    yield server, ws
    ws.shutdown()
    server.shutdown()
    server.server_close()


def url_of(server: simulator.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"
