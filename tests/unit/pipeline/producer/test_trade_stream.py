"""The WebSocket source's producer loop (trade_producer.py): the ids it remembers, invalid
trades counted without losing their neighbours, backfill published in time order, and the whole
loop against the simulated exchange through renewals, a disconnect and a gap (real WebSocket and
HTTP on 127.0.0.1; Kafka is the in-memory publisher of test_producer, the end-to-end test uses
the real one)."""
from __future__ import annotations

import threading
import time

import requests
from structlog.testing import capture_logs
from websockets.sync.server import serve

from cryptostream.core import metrics
from cryptostream.core.config import load
from cryptostream.pipeline.binance.websocket import Trade, TradeConnection
from cryptostream.pipeline.producer.trade_messages import SOURCE, RecentIds, live_gaps
from cryptostream.pipeline.producer.trade_stream import TradeProducer
from tests.helpers.exchange import url_of
from tests.helpers.publishers import MemoryPublisher
from tests.helpers.trades import SYMBOLS, message, stream_report
from tests.helpers.waiting import wait_until


def test_recent_ids_are_bounded_per_symbol() -> None:
    recent = RecentIds(per_symbol=3)
    assert all(recent.add("BTCUSDT", i) for i in (1, 2, 3))
    assert recent.add("ETHUSDT", 1)
    assert not recent.add("BTCUSDT", 2)
    assert recent.add("BTCUSDT", 4)
    assert recent.add("BTCUSDT", 1)  # 1 was forgotten: memory stays at 3


class BatchRecorder(MemoryPublisher):
    """Records what each drain handed over."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[int]] = []

    def drain(self, wait: float = 0) -> int:
        if self.pending:
            self.batches.append([m.event_time for m in self.pending])
        return super().drain(wait)


def test_backfill_is_published_oldest_first_in_slices_of_half_the_watermark() -> None:
    """Each slice is acknowledged before the next goes out, so the processor's watermark (2 s
    behind the newest trade) never passes a backfilled trade still to come."""
    config = load(env={"CRYPTOSTREAM_PROCESSOR_WATERMARK": "2s"})
    publisher = BatchRecorder()
    producer = TradeProducer(config, publisher=publisher)
    gap = [Trade(s, 100 + i, "1.0", "1.0", 10_000 + 250 * i) for i, s in enumerate(["ETHUSDT", "BTCUSDT"] * 6)]
    producer._publish_in_time_order(list(reversed(gap)))
    assert publisher.batches == [[10_000, 10_250, 10_500, 10_750], [11_000, 11_250, 11_500, 11_750],
                                 [12_000, 12_250, 12_500, 12_750]]


def test_a_jump_of_ids_on_a_live_connection_is_a_gap() -> None:
    """Ids are consecutive per symbol: 9 after 6 opens the gap [7, 9); lower, repeated and invalid
    ids and symbols not streamed are no gap."""
    items = [Trade("BTCUSDT", 6, "1", "1", 1), Trade("BTCUSDT", 9, "1", "1", 2), Trade("ETHUSDT", 3, "1", "1", 2),
             Trade("BTCUSDT", 8, "1", "1", 3), Trade("ETHUSDT", 4, "1", "1", 3), Trade("ETHUSDT", 6, "1", "1", 4),
             Trade("XRPUSDT", 50, "1", "1", 4)]
    gaps = live_gaps({"BTCUSDT": 5, "ETHUSDT": 2, "XRPUSDT": 1}, items, ("BTCUSDT", "ETHUSDT"))
    assert [(g.symbol, g.from_id, g.until_id) for g in gaps] == [("BTCUSDT", 7, 9), ("ETHUSDT", 5, 6)]
    assert live_gaps({}, items, ("BTCUSDT", "ETHUSDT")) == gaps  # no last id yet: from the first one seen


def trade_producer(ws_url: str, rest_url: str, **env) -> tuple[TradeProducer, MemoryPublisher]:
    config = load(env={"CRYPTOSTREAM_EXCHANGE_SOURCE": "websocket", "CRYPTOSTREAM_EXCHANGE_WS_BASE_URL": ws_url,
                       "CRYPTOSTREAM_EXCHANGE_BASE_URLS": rest_url, "CRYPTOSTREAM_EXCHANGE_BACKOFF_INITIAL": "100ms",
                       **env})
    publisher = MemoryPublisher()
    return TradeProducer(config, publisher=publisher), publisher


def test_bad_messages_are_logged_and_counted_and_lose_nothing_around_them() -> None:
    """Good, bad, good on one connection: both good trades are published, the bad one is counted
    by reason, and its readable id counts as seen."""
    lines = [message(t=1, T=1000), message(t=2, p="-5"), "garbage", message(t=3, T=1002)]

    def send(connection) -> None:
        for line in lines:
            connection.send(line)
        for _ in connection:  # open until the client closes: a close here would be a disconnect
            pass

    with serve(send, "127.0.0.1", 0, ping_interval=None) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        producer, publisher = trade_producer(f"ws://127.0.0.1:{server.socket.getsockname()[1]}", "http://127.0.0.1:9")
        producer.conn = TradeConnection(producer.config.exchange.ws_base_url, SYMBOLS)
        deadline = time.monotonic() + 5
        while producer.counters.received < 4 and time.monotonic() < deadline:
            producer.step()
        producer.conn.close()
        server.shutdown()
    assert [m.trade_id for m in publisher.sent + publisher.pending] == [1, 3]
    assert producer.counters.invalid == 2
    assert producer.last_id == {"BTCUSDT": 3}
    assert not producer.recent.add("BTCUSDT", 2)


def test_producer_loses_and_duplicates_no_trade_across_disconnects_gaps_and_renewals(stream_exchange) -> None:
    """A connection renewed at its age limit, a forced disconnect, a 0.6 s gap only REST can fill
    and another renewal: per symbol the published trade ids are consecutive, each once, equal to
    the simulator's trades."""
    server, ws = stream_exchange
    producer, publisher = trade_producer(f"ws://127.0.0.1:{ws.port}", url_of(server),
                                         CRYPTOSTREAM_EXCHANGE_WS_MAX_CONNECTION_AGE="1s",
                                         CRYPTOSTREAM_EXCHANGE_BACKOFF_MAX="200ms")
    runner = threading.Thread(target=producer.run)
    runner.start()
    try:
        drive_through_every_fault(producer, server)
    finally:
        producer.stop()
        runner.join(30)
    sent = publisher.sent + publisher.pending
    assert producer.counters.renewals >= 2
    assert producer.counters.disconnects >= 2
    assert producer.counters.backfilled > 0
    assert producer.counters.missed == 0
    assert_every_trade_once(server, sent)
    # the server notices a client's close at its next send
    reasons = wait_until(lambda: closed_reasons(server), "every connection closed, with its reason")
    assert "forced disconnect" in reasons
    assert "closed by client" in reasons  # a renewal closes the old one
    assert "maximum connection age" not in reasons


def assert_every_trade_once(server, sent: list) -> None:
    """Per symbol the published trade ids are consecutive, each once, equal to the exchange's trades."""
    by_symbol: dict[str, list] = {}
    for m in sent:
        assert m.source == SOURCE
        assert m.schema_version == 2
        by_symbol.setdefault(m.symbol, []).append(m)
    assert set(by_symbol) == set(SYMBOLS)
    for symbol, messages in by_symbol.items():
        ids = sorted(m.trade_id for m in messages)
        assert ids == list(range(ids[0], ids[-1] + 1)), f"{symbol}: missing or repeated trade ids"
        tape = requests.get(url_of(server) + "/sim/trades", params={"symbol": symbol, "fromId": ids[0],
                                                                    "limit": len(ids)}, timeout=5).json()
        assert {(m.trade_id, m.price, m.quantity, m.event_time) for m in messages} == \
               {(t["t"], t["p"], t["q"], t["T"]) for t in tape}


def test_trades_skipped_on_a_live_connection_are_repaired(stream_exchange) -> None:
    """The exchange keeps the connection open but sends none of 0.6 s of trades, twice, with a
    forced disconnect between: the jumps are seen on the live connection and filled over REST;
    per symbol every trade id is published once with the exchange's figures."""
    server, ws = stream_exchange
    producer, publisher = trade_producer(f"ws://127.0.0.1:{ws.port}", url_of(server),
                                         CRYPTOSTREAM_EXCHANGE_BACKOFF_MAX="200ms",
                                         CRYPTOSTREAM_PROCESSOR_WATERMARK="1s")
    runner = threading.Thread(target=producer.run)
    runner.start()
    counters = producer.counters
    try:
        wait_until(lambda: counters.published > 20, "trades flowing")
        post_fault(server, mode="ws_silence", seconds=0.6)
        wait_until(lambda: counters.live_gaps >= 1, "a jump of trade ids on the live connection", timeout=15)
        post_fault(server, mode="ws_disconnect")
        wait_until(lambda: counters.disconnects >= 1 and producer.conn is not None, "a reconnect")
        published = counters.published
        wait_until(lambda: counters.published > published + 10, "trades flowing on the new connection")
        post_fault(server, mode="ws_silence", seconds=0.6)
        wait_until(lambda: counters.live_gaps >= 2, "a second jump, on the new connection", timeout=15)
        published = counters.published
        wait_until(lambda: counters.published > published + 10, "trades after the second jump")
    finally:
        producer.stop()
        runner.join(30)
    assert counters.connects == 2  # the jumps were repaired without a reconnect
    assert counters.missed == 0
    assert stream_report(server)["dropped"] > 0
    assert_every_trade_once(server, publisher.sent + publisher.pending)
    # in the order Kafka got them, no trade is older than the newest before it by half the
    # watermark or more: the processor's watermark never passes a trade still to come
    newest = 0
    for sent in publisher.sent:
        assert sent.event_time > newest - 500, (sent.symbol, sent.trade_id)
        newest = max(newest, sent.event_time)


def drive_through_every_fault(producer: TradeProducer, server) -> None:
    """Each fault once the producer is past the previous one: a renewal, a forced disconnect, a
    gap refusing connections, and a renewal after it (so the gap's repair is done)."""
    counters = producer.counters
    wait_until(lambda: counters.renewals >= 1, "a connection renewed at its 1 s age")
    post_fault(server, mode="ws_disconnect")
    wait_until(lambda: counters.disconnects >= 1 and producer.conn is not None, "a reconnect after the disconnect")
    post_fault(server, mode="ws_gap", seconds=0.6)
    wait_until(lambda: counters.disconnects >= 2 and producer.conn is not None, "a reconnect after the gap")
    renewals = counters.renewals
    wait_until(lambda: counters.renewals > renewals, "a renewal after the gap's reconnect")


def post_fault(server, **fault) -> None:
    requests.post(url_of(server) + "/sim/faults", json=fault, timeout=5).raise_for_status()


def closed_reasons(server) -> list[str]:
    reasons = [c["reason"] for c in stream_report(server)["connections"]]
    return [] if None in reasons else reasons


def test_a_gap_the_exchange_will_not_fill_is_an_error_counted_in_a_metric(stream_exchange) -> None:
    """Trades skipped while every backfill request fails: the gap is given up at error level and
    counted (cryptostream_trades_missed_total), so neither a log review nor a dashboard misses it."""
    server, ws = stream_exchange
    producer, _ = trade_producer(f"ws://127.0.0.1:{ws.port}", url_of(server))
    before = metrics.TRADES_MISSED._value.get()
    runner = threading.Thread(target=producer.run)
    with capture_logs() as logs:
        runner.start()
        try:
            wait_until(lambda: producer.counters.published > 20, "trades flowing")
            post_fault(server, mode="server_error", endpoint="historicalTrades", count=5)
            post_fault(server, mode="ws_silence", seconds=0.6)
            wait_until(lambda: producer.counters.missed > 0, "a gap given up", timeout=20)
        finally:
            producer.stop()
            runner.join(30)
    assert metrics.TRADES_MISSED._value.get() - before == producer.counters.missed
    given_up = [e for e in logs if e["event"] == "backfill_incomplete"]
    assert given_up
    assert given_up[0]["log_level"] == "error"
    assert given_up[0]["cause"] == "live"
