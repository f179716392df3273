"""Shared fixtures: the simulated exchange in a thread (real HTTP), the unit marker for every
test not marked otherwise, and the guard that keeps the unit tier free of servers and of the
network. Helpers the tests import are in tests/helpers/; no test imports another test module."""
from __future__ import annotations

import ipaddress
import os
import socket
import stat
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from cryptostream.simulator import server as simulator

# testcontainers' reaper image cannot be pulled here; the fixtures stop their containers.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")


# Any of these makes a test more than a unit test; every other test is marked unit.
NOT_UNIT = {"integration", "e2e", "fault", "badinput", "scaleout", "container", "fresh"}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if not NOT_UNIT & {mark.name for mark in item.iter_markers()}:
            item.add_marker(pytest.mark.unit)


# --- the unit tier's guard: no server process, no network beyond loopback ---

# Programs that are servers, or start one, when a test runs them itself (its children's children
# are out of sight: a unit test running a script that starts one is caught only by review).
SERVER_PROGRAMS = {"mariadbd", "mysqld", "mariadb-install-db", "mysql_install_db", "java", "spark-submit",
                   "spark-class", "kafka-server-start.sh", "kafka-storage.sh", "supervisord", "docker", "dockerd",
                   "cryptostream-mysqld", "cryptostream-kafka", "cryptostream-stack", "up"}
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class UnitGuard:
    """An audit hook (sys.addaudithook, for the whole session) that, while a unit test runs,
    refuses starting a server program and connecting or resolving beyond loopback. It raises
    at the call and records the breach, so a test whose code swallows the error fails too."""

    def __init__(self) -> None:
        self.active = False
        self.breaches: list[str] = []

    def __call__(self, event: str, args: tuple) -> None:
        if not self.active:
            return
        breach = self._breach(event, args)
        if breach:
            self.breaches.append(breach)
            raise PermissionError(f"unit test: {breach}; mark the test integration (or e2e) instead")

    def _breach(self, event: str, args: tuple) -> str | None:
        if event == "subprocess.Popen":
            return _server_program(args[0], args[1])
        if event == "socket.connect" and args[0].family in (socket.AF_INET, socket.AF_INET6):
            return None if _loopback(args[1][0]) else f"connects to {args[1][0]}:{args[1][1]}"
        if event == "socket.getaddrinfo" and args[0] is not None:
            return None if _loopback(args[0]) else f"resolves {args[0]!r}"
        return None


def _server_program(executable: Any, argv: Any) -> str | None:
    first = argv if isinstance(argv, (str, bytes, os.PathLike)) else (list(argv)[:1] or [""])[0]
    for program in (executable, first):
        name = Path(os.fsdecode(program)).name if program else ""
        if name in SERVER_PROGRAMS:
            return f"starts {name} (a server)"
    return None


def _loopback(host: Any) -> bool:
    host = host.decode() if isinstance(host, bytes) else str(host)
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host.lower() in LOCAL_NAMES or host == ""  # "": the wildcard, nothing to look up


UNIT_GUARD = UnitGuard()
sys.addaudithook(UNIT_GUARD)  # cannot be removed: it only acts while a unit test runs


@pytest.fixture(autouse=True)
def unit_stays_unit(request) -> Iterator[None]:
    """A unit test that started a server or went beyond loopback fails, naming what it did."""
    if request.node.get_closest_marker("unit") is None:
        yield
        return
    UNIT_GUARD.active, UNIT_GUARD.breaches = True, []
    try:
        yield
    finally:
        UNIT_GUARD.active = False
    assert not UNIT_GUARD.breaches, f"not a unit test: {'; '.join(UNIT_GUARD.breaches)}"


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
