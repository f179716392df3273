"""StatsWriter: the producer's figures written from a thread of its own; MySQL refusing or never
answering costs a warning and held figures, never a stalled poll loop (MySQL itself is in
tests/integration/test_pipeline_stats.py)."""
from __future__ import annotations

import socket
import threading
import time

from structlog.testing import capture_logs

from cryptostream.core import db, events
from cryptostream.core.config import load
from cryptostream.core.polling import wait_for
from cryptostream.pipeline.producer.poller import PriceProducer
from cryptostream.pipeline.stats import RunStats, StatsWriter
from cryptostream.pipeline.stats.names import API_LATENCY, PUBLISHED
from tests.helpers.exchange import client_for, url_of
from tests.helpers.publishers import MemoryPublisher


class FakeConnection:
    """Records what a write executed and committed."""

    def __init__(self, store: list) -> None:
        self.store = store
        self.executed: list = []

    def cursor(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *_):
        return False

    def executemany(self, statement: str, rows: list) -> None:
        self.executed += rows

    def commit(self) -> None:
        self.store.append(self.executed)

    def close(self) -> None:
        return None


def test_a_write_upserts_every_minute_held_and_forgets_the_closed_ones() -> None:
    commits: list = []
    config = load(env={})
    now = [0.0]
    stats = RunStats("producer", clock=lambda: now[0], run_id=3)
    stats.add(PUBLISHED, 4)
    now[0] = 61.0  # written in the next minute
    writer = StatsWriter(config, stats, connect=lambda: FakeConnection(commits))
    assert writer.write()
    assert [(r[0].minute, r[3], r[4]) for r in commits[0]] == [(0, "starts", 1), (0, PUBLISHED, 4)]
    assert stats.held_minutes() == 0, "minute 0 was closed when written: nothing left to rewrite"


def test_mysql_refusing_keeps_the_figures_and_warns() -> None:
    def refused():
        raise ConnectionRefusedError("no MySQL")
    stats = RunStats("producer", run_id=3)
    writer = StatsWriter(load(env={}), stats, connect=refused)
    with capture_logs() as logs:
        assert not writer.write()
    assert writer.failures == 1
    assert stats.held_minutes() == 1
    warning = [e for e in logs if e["event"] == events.STATS_WRITE_FAILED]
    assert warning
    assert warning[0]["error"] == "ConnectionRefusedError(None)"
    assert warning[0]["minutes_held"] == 1


class SilentServer:
    """A 127.0.0.1 listener that accepts and never answers: MySQL hung, the worst case.
    close() drops its connections too, so a client waiting on it fails at once."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        try:
            while True:
                self.accepted.append(self.listener.accept()[0])
        except OSError:
            return  # closed

    def close(self) -> None:
        self.listener.close()
        for connection in self.accepted:
            connection.close()


HANG = 60.0  # the writer's connect timeout here: far longer than the polls may take, even on a busy machine


def test_a_hung_mysql_does_not_slow_the_poll_loop(exchange) -> None:
    """The producer polls at its pace while its writer waits on a MySQL that never answers;
    stopping the writer is bounded; the figures are kept; the write fails once MySQL goes."""
    server = SilentServer()
    config = load(env={"CRYPTOSTREAM_EXCHANGE_BASE_URLS": url_of(exchange), "CRYPTOSTREAM_MYSQL_PORT": str(server.port),
                       "CRYPTOSTREAM_EXCHANGE_POLL_INTERVAL": "100ms", "CRYPTOSTREAM_STATS_WRITE_INTERVAL": "1s"})
    producer = PriceProducer(config, client=client_for(url_of(exchange)), publisher=MemoryPublisher())
    writer = StatsWriter(config, producer.stats, connect=lambda: db.connect(config, timeout=HANG)).start()
    try:
        wait_for("the writer to reach the silent server", lambda: server.accepted, 10)
        started = time.monotonic()
        producer.run(max_polls=10)
        elapsed = time.monotonic() - started
        assert elapsed < HANG / 4, f"10 polls at 100 ms took {elapsed:.1f}s while MySQL hung"
        stopping = time.monotonic()
        writer.close(timeout=1.0)
        assert time.monotonic() - stopping < HANG / 4, "stopping the writer waited on MySQL"
        latencies = sum(r[4] for r in producer.stats.pending()[1] if r[3] == API_LATENCY)  # one minute or two
        assert latencies == 10, f"the polls' latencies are held for a later write, found {latencies}"
        assert writer.failures == 0, "the first write should still be waiting on the silent server"
    finally:
        server.close()
    wait_for("the hung write to fail once MySQL is gone", lambda: writer.failures >= 1, 10)
