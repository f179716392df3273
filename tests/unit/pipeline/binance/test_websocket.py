"""The WebSocket trade source's parts: message parsing, backoff, the connection-attempt
limiter, one connection (pongs, disconnects) and gap repair over REST, against real WebSocket
and HTTP servers on 127.0.0.1. The producer loop that joins them: test_trade_stream.py."""
from __future__ import annotations

import json
import random
import threading
import time

import pytest
import requests
from websockets.sync.server import serve

from cryptostream.core.backoff import Backoff
from cryptostream.core.config import ConfigError, load
from cryptostream.pipeline.binance.backfill import Backfill, Gap, TradeHistory, TradePage, parse_trades
from cryptostream.pipeline.binance.client import RateLimited
from cryptostream.pipeline.binance.limiter import SlidingWindowLimiter
from cryptostream.pipeline.binance.websocket import (Disconnected, Trade, TradeConnection, TradeMessageError,
                                                     parse_message, stream_url)
from cryptostream.ops.stack.native import source_environment
from tests.helpers.exchange import url_of
from tests.helpers.trades import SYMBOLS, message, stream_report
from tests.helpers.waiting import wait_until

# --- parsing ---

def test_stream_url_names_every_symbol_in_lower_case() -> None:
    assert stream_url("wss://stream.binance.com:9443/", ["BTCUSDT", "ETHUSDT"]) == \
        "wss://stream.binance.com:9443/stream?streams=btcusdt@trade/ethusdt@trade"


def test_a_trade_message_becomes_a_trade() -> None:
    """Binance's documented payload: T is the event time, t the id, p and q kept as sent."""
    trade = parse_message(message(), SYMBOLS)
    assert trade == Trade("BTCUSDT", 12345, "97000.01000000", "0.00150000", 1672515782135)
    doc_example = {"stream": "bnbbtc@trade", "data": {"e": "trade", "E": 1672515782136, "s": "BNBBTC", "t": 12345,
                                                      "p": "0.001", "q": "100", "T": 1672515782136, "m": True,
                                                      "M": True}}
    assert parse_message(json.dumps(doc_example).encode(), ["BNBBTC"]).quantity == "100"


@pytest.mark.parametrize("raw, reason, known_id", [
    (b"{not json", "not_json", False),
    (b"\xff\xfe{}", "not_json", False),
    (json.dumps([1, 2]), "wrong_shape", False),
    (json.dumps({"stream": "btcusdt@trade"}), "wrong_shape", False),
    (message(e="aggTrade"), "not_a_trade", False),
    (message(s="DOGEUSDT"), "unknown_symbol", False),
    (message(s="btc'; DROP"), "bad_symbol", False),
    (message(t="12345"), "bad_trade_id", False),
    (message(t=-1), "bad_trade_id", False),
    (message(t=True), "bad_trade_id", False),
    (message(t=1.5), "bad_trade_id", False),
    (message(p=97000.01), "bad_price", True),
    (message(p="NaN"), "bad_price", True),
    (message(p="0"), "non_positive_price", True),
    (message(q="0"), "bad_quantity", True),
    (message(q="-1"), "bad_quantity", True),
    (message(q=None), "bad_quantity", True),
    (message(T="soon"), "bad_trade_time", True),
    (message(T=None), "bad_trade_time", True),
    (message(stream="ethusdt@trade"), "stream_mismatch", True),
])
def test_bad_messages_raise_a_clear_error(raw, reason, known_id) -> None:
    """Each bad payload names its reason and shows the message; the trade id is kept when it
    was readable, so the trade counts as seen (not missing) for gap repair."""
    with pytest.raises(TradeMessageError) as error:
        parse_message(raw, SYMBOLS)
    assert error.value.reason == reason
    assert str(error.value).startswith(reason + ":")
    assert "message:" in str(error.value)
    assert (error.value.trade_id == 12345) is known_id


def test_historical_trades_parse_with_the_same_rules() -> None:
    body = json.dumps([{"id": 7, "price": "1.5", "qty": "2", "quoteQty": "3", "time": 1000, "isBuyerMaker": True},
                       {"id": 8, "price": "-1", "qty": "2", "time": 1001}])
    page = parse_trades(body, "BTCUSDT")
    assert page.trades == [Trade("BTCUSDT", 7, "1.5", "2", 1000)]
    assert page.received == 2
    assert [(r.reason, r.trade_id) for r in page.rejected] == [("bad_price", 8)]


# --- backoff and the connection-attempt limit ---

def test_backoff_grows_with_jitter_up_to_the_maximum_and_resets() -> None:
    backoff = Backoff(0.5, 4.0, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(6)]
    for delay, ceiling in zip(delays, [0.5, 1, 2, 4, 4, 4]):
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == 6  # jittered: no two clients retry in lock-step
    backoff.reset()
    assert backoff.next_delay() <= 0.5


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> bool:
        self.slept.append(seconds)
        self.now += seconds
        return False


def test_connection_attempts_stay_within_300_per_5_minutes() -> None:
    """300 attempts go at once; the 301st waits until the first leaves the 5-minute window."""
    clock = FakeClock()
    limiter = SlidingWindowLimiter(300, 300.0, clock=clock)
    for _ in range(300):
        assert limiter.acquire(clock.sleep)
        clock.now += 0.1
    assert clock.slept == []
    assert limiter.count() == 300
    assert limiter.wait_time() == pytest.approx(300 - 30.0)
    assert limiter.acquire(clock.sleep)
    assert clock.slept == [pytest.approx(270.0)]
    assert limiter.count() == 300


def test_a_stopping_program_is_not_held_by_the_limiter() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(1, 300.0, clock=clock)
    assert limiter.acquire(clock.sleep)
    assert not limiter.acquire(lambda seconds: True)  # stop requested while waiting
    assert limiter.count() == 1


def test_config_names_a_bad_source() -> None:
    with pytest.raises(ConfigError, match="exchange.source"):
        load(env={"CRYPTOSTREAM_EXCHANGE_SOURCE": "carrier-pigeon"})
    with pytest.raises(ConfigError, match="exchange.ws_base_url"):
        load(env={"CRYPTOSTREAM_EXCHANGE_WS_BASE_URL": "https://stream.binance.com"})


def test_bin_up_passes_the_source_and_the_simulated_urls() -> None:
    config = load(env={"CRYPTOSTREAM_SIMULATOR_WS_PORT": "18092"})
    assert source_environment(config, True, "websocket") == {
        "CRYPTOSTREAM_EXCHANGE_SOURCE": "websocket", "CRYPTOSTREAM_EXCHANGE_BASE_URLS": config.simulator.base_urls,
        "CRYPTOSTREAM_EXCHANGE_WS_BASE_URL": "ws://127.0.0.1:18092"}
    assert source_environment(config, False, "rest") == {"CRYPTOSTREAM_EXCHANGE_SOURCE": "rest"}


# --- the connection, against a WebSocket server on 127.0.0.1 ---

def receive_for(conn: TradeConnection, seconds: float) -> list:
    items, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        items += conn.receive(0.1)
    return items


def test_pings_are_answered_with_their_own_payload(stream_exchange) -> None:
    """The server's random-payload pings come back as pongs with the same payload (the server
    checks the payload), while trades keep arriving."""
    server, ws = stream_exchange
    conn, trades = TradeConnection(f"ws://127.0.0.1:{ws.port}", SYMBOLS), []

    def three_answered() -> list[dict]:
        trades.extend(conn.receive(0.05))  # reading is what lets the library answer
        answered = [p for p in stream_report(server)["pings"] if p["pong"]]
        return answered if len(answered) >= 3 else []
    try:
        answered = wait_until(three_answered, "3 pings answered (one every 0.5 s)", timeout=5)
    finally:
        conn.close()
    assert len(answered) >= 3
    assert {p["payload"] for p in answered} <= {b.hex() for b in conn.pings_answered}
    assert trades
    assert all(isinstance(t, Trade) for t in trades)


def test_a_ping_flood_closes_the_connection_before_the_message_limit() -> None:
    """A server pinging every 100 ms would make the client send 10 pongs a second (Binance allows
    5 messages a second); the client closes the connection after the 4th."""
    def flood(connection) -> None:
        try:
            for n in range(10):
                connection.ping(str(n))
                time.sleep(0.1)
        except Exception:  # noqa: BLE001 - the client went away, as it should
            pass

    with serve(flood, "127.0.0.1", 0, ping_interval=None) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        conn = TradeConnection(f"ws://127.0.0.1:{server.socket.getsockname()[1]}", SYMBOLS)
        with pytest.raises(Disconnected, match="pinged more than 3 times"):
            receive_for(conn, 2.0)
        assert 4 <= len(conn.pings_answered) <= 5
        server.shutdown()


def test_messages_before_a_disconnect_are_handed_over_first(stream_exchange) -> None:
    """A closed connection still delivers what it received; only then does it raise."""
    server, ws = stream_exchange
    conn = TradeConnection(f"ws://127.0.0.1:{ws.port}", SYMBOLS)
    wait_until(lambda: stream_report(server)["connections"][0]["sent"], "a trade sent to the connection")
    requests.post(url_of(server) + "/sim/faults", json={"mode": "ws_disconnect"}, timeout=5)
    # the server records "closed" once its close handshake is done: the close frame is with the client
    wait_until(lambda: stream_report(server)["connections"][0]["closed"], "the forced disconnect")
    items = conn.receive(0.1)
    assert items  # the trades already received
    with pytest.raises(Disconnected) as closed:
        receive_for(conn, 2.0)
    assert closed.value.code == 1001


# --- gap repair over REST ---

class ScriptedHistory:
    """A TradeHistory stand-in answering from a list of pages or errors."""

    def __init__(self, answers) -> None:
        self.answers, self.asked = list(answers), []

    def page(self, symbol, from_id, limit):
        self.asked.append((symbol, from_id, limit))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def trades(ids) -> list[Trade]:
    return [Trade("BTCUSDT", i, "1.0", "1.0", 1000 + i) for i in ids]


def test_backfill_walks_pages_until_the_first_live_id_within_the_weight_budget() -> None:
    pauses, slept = [], []
    history = ScriptedHistory([TradePage(trades(range(100, 1100)), received=1000, used_weight=4900),
                               TradePage(trades(range(1100, 1250)), received=150, used_weight=25)])

    def pause(used):
        pauses.append(used)
        return 7.0 if used and used > 4800 else 0.0
    backfill = Backfill(history, 10, pause, lambda s: slept.append(s) and False, Backoff(0.1, 1))
    repair = backfill.repair([Gap("BTCUSDT", 100, 1250)])
    assert [t.trade_id for t in repair.trades] == list(range(100, 1250))
    assert not repair.incomplete
    assert history.asked == [("BTCUSDT", 100, 1000), ("BTCUSDT", 1100, 150)]
    assert pauses == [4900, 25]
    assert slept == [7.0]  # past 80 % of the minute's weight: wait


def test_backfill_up_to_the_present_stops_at_a_short_page() -> None:
    history = ScriptedHistory([TradePage(trades(range(5, 25)), received=20)])
    repair = Backfill(history, 10, lambda used: 0.0, lambda s: False, Backoff(0.1, 1)).repair([Gap("BTCUSDT", 5)])
    assert len(repair.trades) == 20
    assert repair.requests == 1
    assert not repair.incomplete


def test_backfill_waits_out_retry_after_and_reports_what_it_could_not_fetch() -> None:
    slept = []
    history = ScriptedHistory([RateLimited(429, 3.0), TradePage(trades(range(10, 12)), received=2)]
                              + [RateLimited(418, 1.0)] * 5)
    backfill = Backfill(history, 10, lambda used: 0.0, lambda s: slept.append(s) and False, Backoff(0.1, 1))
    repair = backfill.repair([Gap("BTCUSDT", 10, 12), Gap("ETHUSDT", 50, 60)])
    assert [t.trade_id for t in repair.trades] == [10, 11]
    assert slept == [3.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert repair.incomplete == [Gap("ETHUSDT", 50, 60)]


def test_backfill_from_the_simulated_exchange_returns_exactly_the_gap(stream_exchange) -> None:
    server, _ws = stream_exchange

    def four_trades() -> list[int]:
        bounds = requests.get(url_of(server) + "/sim/trades/bounds", timeout=5).json().get("BTCUSDT")
        return bounds if bounds and bounds[1] - bounds[0] >= 3 else []
    first, last = wait_until(four_trades, "4 BTCUSDT trades on the tape")
    config = load(env={"CRYPTOSTREAM_EXCHANGE_BASE_URLS": url_of(server)})
    repair = Backfill(TradeHistory(config.exchange), 5, lambda used: 0.0, lambda s: False,
                      Backoff(0.1, 1)).repair([Gap("BTCUSDT", first + 1, last)])
    assert [t.trade_id for t in repair.trades] == list(range(first + 1, last))
    assert repair.used_weight >= 25
