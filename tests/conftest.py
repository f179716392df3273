"""Shared fixtures: free loopback ports and the simulated exchange in a thread (real HTTP)."""
from __future__ import annotations

import os
import socket
from typing import Iterator

import pytest

from cryptostream.exchange import simulator

# testcontainers' reaper image cannot be pulled here; the fixtures stop their containers.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def exchange() -> Iterator[simulator.ThreadingHTTPServer]:
    """A simulated exchange on a free 127.0.0.1 port, seed 7."""
    server = simulator.make_server(port=0, seed=7)
    simulator.start_in_thread(server)
    yield server
    server.shutdown()
    server.server_close()


def url_of(server: simulator.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"
