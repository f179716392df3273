"""Unknown, delisted and halted symbols (exchange/symbols.py): the simulated exchange's
exchangeInfo and its delist / symbol_status faults, the check itself, and both producer
sources leaving such a symbol out while the others keep flowing. Real HTTP and WebSocket on
127.0.0.1 against the simulated exchange; Kafka is the in-memory publisher of test_producer."""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone

import pytest
import requests
from structlog.testing import capture_logs

from cryptostream.ops.deployment import NativeDeployment
from cryptostream.core.backoff import Backoff
from cryptostream.core.config import load
from cryptostream.core.metrics import PRODUCER_REGISTRY as REGISTRY
from cryptostream.pipeline.binance.backfill import Backfill, Gap, TradeHistory
from cryptostream.pipeline.binance.client import BinanceClient, ExchangeError
from cryptostream.pipeline.binance.endpoints import EXCHANGE_INFO_WEIGHT
from cryptostream.pipeline.binance.symbols import (RECHECK_AFTER, UNKNOWN, SymbolInfo, SymbolWatch, WeightBudget,
                                                  is_invalid_symbol, parse_statuses)
from cryptostream.ops.health.facts import Facts
from cryptostream.ops.health.rows import producer as producer_rows
from cryptostream.pipeline.producer.poller import PriceProducer
from cryptostream.pipeline.producer.trade_stream import TradeProducer
from tests.helpers.exchange import url_of
from tests.helpers.publishers import MemoryPublisher
from tests.helpers.waiting import wait_until

KNOWN = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "ADAUSDT")


def fault(server, **spec) -> None:
    requests.post(url_of(server) + "/sim/faults", json=spec, timeout=5).raise_for_status()


def exchange_config(server, symbols=KNOWN, **env):
    return load(env={"CRYPTOSTREAM_EXCHANGE_BASE_URLS": url_of(server),
                     "CRYPTOSTREAM_EXCHANGE_SYMBOLS": ",".join(symbols), **env})


def exclusions(symbol: str, status: str) -> float:
    return REGISTRY.get_sample_value("cryptostream_symbol_exclusions_total", {"symbol": symbol, "status": status}) or 0


def excluded_gauge(symbol: str) -> float | None:
    return REGISTRY.get_sample_value("cryptostream_symbol_excluded", {"symbol": symbol})


def events(logs: list[dict], name: str, symbol: str | None = None) -> list[dict]:
    return [e for e in logs if e["event"] == name and (symbol is None or e.get("symbol") == symbol)]


# --- the simulated exchange ---

def test_exchange_info_lists_symbols_with_status_and_weight_20(exchange) -> None:
    """Binance's shape (symbols[] with symbol, status, baseAsset, quoteAsset), weight 20 in each
    form, and -1121 when a requested symbol is unknown."""
    base = url_of(exchange) + "/api/v3/exchangeInfo"
    every = requests.get(base, timeout=5)
    assert every.status_code == 200
    assert every.headers["X-MBX-USED-WEIGHT-1M"] == "20"
    body = every.json()
    assert {"timezone", "serverTime", "rateLimits", "symbols"} <= set(body)
    assert {s["symbol"] for s in body["symbols"]} >= set(KNOWN)
    btc = next(s for s in body["symbols"] if s["symbol"] == "BTCUSDT")
    assert (btc["status"], btc["baseAsset"], btc["quoteAsset"]) == ("TRADING", "BTC", "USDT")
    two = requests.get(base, params={"symbols": '["ETHUSDT","ADAUSDT"]'}, timeout=5)
    assert [s["symbol"] for s in two.json()["symbols"]] == ["ETHUSDT", "ADAUSDT"]
    assert two.headers["X-MBX-USED-WEIGHT-1M"] == "40"
    for params in ({"symbol": "NOPEUSDT"}, {"symbols": '["BTCUSDT","NOPEUSDT"]'}):
        bad = requests.get(base, params=params, timeout=5)
        assert bad.status_code == 400
        assert bad.json() == {"code": -1121, "msg": "Invalid symbol."}


def test_delist_and_status_faults_change_what_the_exchange_answers(exchange) -> None:
    """delist: absent from exchangeInfo, -1121 for ticker and historicalTrades requests naming
    it; symbol_status BREAK: listed as BREAK, still quoted; TRADING lists it again."""
    base = url_of(exchange)
    fault(exchange, mode="delist", symbol="ADAUSDT")
    fault(exchange, mode="symbol_status", symbol="SOLUSDT", status="BREAK")
    info = requests.get(base + "/api/v3/exchangeInfo", timeout=5).json()["symbols"]
    assert "ADAUSDT" not in {s["symbol"] for s in info}
    assert next(s["status"] for s in info if s["symbol"] == "SOLUSDT") == "BREAK"
    for path, params in (("/api/v3/ticker/price", {"symbols": json.dumps(list(KNOWN))}),
                         ("/api/v3/exchangeInfo", {"symbol": "ADAUSDT"}),
                         ("/api/v3/historicalTrades", {"symbol": "ADAUSDT"})):
        answer = requests.get(base + path, params=params, timeout=5)
        assert (answer.status_code, answer.json()["code"]) == (400, -1121), path
    quoted = requests.get(base + "/api/v3/ticker/price", params={"symbol": "SOLUSDT"}, timeout=5)
    assert quoted.status_code == 200
    fault(exchange, mode="symbol_status", symbol="ADAUSDT", status="TRADING")
    assert requests.get(base + "/sim/symbols", timeout=5).json()["ADAUSDT"] == "TRADING"
    for bad in ({"mode": "delist", "symbol": "NOPEUSDT"}, {"mode": "symbol_status", "symbol": "BTCUSDT"}):
        refused = requests.post(base + "/sim/faults", json=bad, timeout=5)
        assert refused.status_code == 400, bad


# --- the check ---

def test_one_request_when_every_symbol_is_known(exchange) -> None:
    config = exchange_config(exchange)
    statuses, made = SymbolInfo(config.exchange).statuses(KNOWN, WeightBudget(config.exchange))
    assert statuses == dict.fromkeys(KNOWN, "TRADING")
    assert made == 1


def test_unknown_symbols_are_found_by_halving_the_list(exchange) -> None:
    """Binance's -1121 does not say which symbol: the list is halved until each unknown one
    stands alone; the known ones keep their status, within a bounded number of requests."""
    fault(exchange, mode="symbol_status", symbol="SOLUSDT", status="HALT")
    symbols = ("BTCUSDT", "NOPEUSDT", "ETHUSDT", "ZZZUSDT", "SOLUSDT")
    config = exchange_config(exchange, symbols)
    budget = WeightBudget(config.exchange)
    statuses, made = SymbolInfo(config.exchange).statuses(symbols, budget)
    assert statuses == {"BTCUSDT": "TRADING", "NOPEUSDT": UNKNOWN, "ETHUSDT": "TRADING", "ZZZUSDT": UNKNOWN,
                        "SOLUSDT": "HALT"}
    assert made == 9
    assert budget.used == made * EXCHANGE_INFO_WEIGHT  # every request, -1121 ones too


def test_a_check_that_would_cross_the_weight_headroom_waits_for_the_next_minute(exchange) -> None:
    config = exchange_config(exchange)
    watch = SymbolWatch(config.exchange, SymbolInfo(config.exchange))
    watch.budget.note(int(6000 * 0.8) - 10)
    with capture_logs() as logs:
        assert watch.check() is False
    assert events(logs, "symbol_check_deferred")
    assert not watch.due()
    assert watch.next_check - time.monotonic() <= 60
    assert not exchange.RequestHandlerClass.state.requests
    assert watch.budget.used == 4790  # nothing was sent


def test_a_symbol_is_logged_once_per_status_counted_and_taken_back(exchange) -> None:
    config = exchange_config(exchange, KNOWN + ("NOPEUSDT",))
    watch = SymbolWatch(config.exchange, SymbolInfo(config.exchange))
    before = exclusions("BNBUSDT", "BREAK"), exclusions("NOPEUSDT", UNKNOWN)
    with capture_logs() as logs:
        assert watch.check() is True
        assert watch.check() is False  # the same answer twice: one log line
        fault(exchange, mode="symbol_status", symbol="BNBUSDT", status="BREAK")
        assert watch.check() is True
        assert watch.check() is False
        assert excluded_gauge("BNBUSDT") == 1
        assert watch.active == ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT")
        fault(exchange, mode="symbol_status", symbol="BNBUSDT", status="TRADING")
        assert watch.check() is True
    assert [(e["symbol"], e["status"], e["log_level"]) for e in events(logs, "symbol_excluded")] == \
           [("NOPEUSDT", UNKNOWN, "warning"), ("BNBUSDT", "BREAK", "warning")]
    assert [(e["symbol"], e["previous_status"]) for e in events(logs, "symbol_included")] == [("BNBUSDT", "BREAK")]
    assert (exclusions("BNBUSDT", "BREAK"), exclusions("NOPEUSDT", UNKNOWN)) == (before[0] + 1, before[1] + 1)
    assert excluded_gauge("BNBUSDT") == 0
    assert excluded_gauge("NOPEUSDT") == 1
    assert watch.excluded == {"NOPEUSDT": UNKNOWN}
    assert len(events(logs, "symbol_check")) == 5


def test_a_failed_check_keeps_the_symbols_and_a_repeated_invalid_symbol_is_rate_bounded(exchange) -> None:
    """A -1121 right after a periodic check is checked at once; one right after a check made
    for a -1121 that found nothing (the exchange contradicts itself) waits RECHECK_AFTER instead
    of checking on every poll. An unreachable exchange leaves the set as it was (retried later)."""
    now = [1000.0]
    config = exchange_config(exchange)
    watch = SymbolWatch(config.exchange, SymbolInfo(config.exchange), monotonic=lambda: now[0])
    assert watch.check() is False
    assert watch.active == KNOWN
    assert watch.invalid_symbol_seen() is True  # the periodic check could not have seen a later delisting
    assert watch.check() is False
    assert watch.invalid_symbol_seen() is False
    assert watch.next_check == 1000.0 + RECHECK_AFTER
    now[0] += RECHECK_AFTER
    assert watch.invalid_symbol_seen() is True
    dead = load(env={"CRYPTOSTREAM_EXCHANGE_BASE_URLS": "http://127.0.0.1:9", "CRYPTOSTREAM_EXCHANGE_SYMBOLS":
                     ",".join(KNOWN), "CRYPTOSTREAM_EXCHANGE_CONNECT_TIMEOUT": "1s"})
    watch.info = SymbolInfo(dead.exchange)
    with capture_logs() as logs:
        assert watch.check() is False
    assert events(logs, "symbol_check_failed")
    assert watch.active == KNOWN
    assert not watch.due()


def test_exchange_info_answers_are_parsed_strictly() -> None:
    assert parse_statuses('{"symbols": [{"symbol": "BTCUSDT", "status": "BREAK"}]}', ("BTCUSDT", "ETHUSDT")) == \
        {"BTCUSDT": "BREAK", "ETHUSDT": UNKNOWN}
    for body in ("[]", "not json", '{"symbols": {}}', '{"symbols": [1]}'):
        with pytest.raises(ExchangeError):
            parse_statuses(body, ("BTCUSDT",))


# --- the REST producer ---

class CheckClock:
    """The symbol watch's monotonic clock, moved by the test: a periodic check comes when the
    test says, so no test waits out symbol_check_interval."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def rest_producer(exchange, symbols, clock: CheckClock | None = None, **env) -> tuple[PriceProducer, MemoryPublisher]:
    config = exchange_config(exchange, symbols, CRYPTOSTREAM_EXCHANGE_POLL_INTERVAL="100ms",
                             CRYPTOSTREAM_EXCHANGE_BACKOFF_INITIAL="2s", **env)
    publisher = MemoryPublisher()
    watch = SymbolWatch(config.exchange, monotonic=clock or CheckClock())
    return PriceProducer(config, client=BinanceClient(config.exchange), publisher=publisher, watch=watch), publisher


def ticker_statuses(exchange) -> list[int]:
    return [r["status"] for r in exchange.RequestHandlerClass.state.requests]


def test_an_unknown_symbol_configured_from_the_start_is_left_out(exchange) -> None:
    """The check before the first ticker request finds it: no request fails, the others flow."""
    producer, publisher = rest_producer(exchange, ("BTCUSDT", "NOPEUSDT", "ETHUSDT"))
    with capture_logs() as logs:
        producer.run(max_polls=3)
    assert ticker_statuses(exchange) == [200, 200, 200]
    assert sorted(m.symbol for m in publisher.sent) == ["BTCUSDT"] * 3 + ["ETHUSDT"] * 3
    assert [(e["symbol"], e["status"]) for e in events(logs, "symbol_excluded")] == [("NOPEUSDT", UNKNOWN)]
    assert excluded_gauge("NOPEUSDT") == 1


def test_a_symbol_delisted_while_polling_is_found_at_once_not_backed_off(exchange) -> None:
    """After the delist the ticker answers -1121 once; the next poll comes without backoff
    (2 s here), checks, and polls the other symbols; a BREAK symbol is left out the same way;
    both come back with the next periodic check once they trade again."""
    clock = CheckClock()  # stands still until the periodic check is due: only the -1121 can ask for one
    producer, publisher = rest_producer(exchange, KNOWN, clock, CRYPTOSTREAM_EXCHANGE_SYMBOL_CHECK_INTERVAL="1s")
    with capture_logs() as logs:
        producer.run(max_polls=2)
        fault(exchange, mode="delist", symbol="ADAUSDT")
        fault(exchange, mode="symbol_status", symbol="SOLUSDT", status="BREAK")
        started = time.monotonic()
        producer.run(max_polls=5)  # 3 more: the -1121, the check with its poll, one more
        assert time.monotonic() - started < 0.9  # no 2 s backoff after the -1121
        assert {m.symbol for m in publisher.sent[10:]} == {"BTCUSDT", "ETHUSDT", "BNBUSDT"}
        fault(exchange, mode="symbol_status", symbol="ADAUSDT", status="TRADING")
        fault(exchange, mode="symbol_status", symbol="SOLUSDT", status="TRADING")
        clock.now += 1.0  # the 1 s check interval has passed
        producer.run(max_polls=8)
    assert ticker_statuses(exchange).count(400) == 1
    assert {(e["symbol"], e["status"]) for e in events(logs, "symbol_excluded")} == {("ADAUSDT", UNKNOWN),
                                                                                      ("SOLUSDT", "BREAK")}
    assert len(events(logs, "symbol_excluded")) == 2
    assert len(events(logs, "symbol_included")) == 2
    assert {m.symbol for m in publisher.sent[-5:]} == set(KNOWN)
    failed = [e for e in logs if e["event"] == "poll_failed" and e.get("status") == 400]
    assert len(failed) == 1
    assert failed[0]["log_level"] == "warning"  # a failure, not an info line
    assert failed[0]["backoff_s"] == 0


def test_with_every_symbol_left_out_nothing_is_requested(exchange) -> None:
    producer, publisher = rest_producer(exchange, ("NOPEUSDT",))
    producer.run(max_polls=3)
    assert ticker_statuses(exchange) == []
    assert not publisher.sent


# --- the WebSocket source ---

def test_trade_stream_leaves_out_unknown_and_delisted_symbols(stream_exchange) -> None:
    """An unknown symbol is never in the stream URL; a symbol delisted while streaming is left
    out by the next check (the connection is renewed without it) and gets no backfill; the
    others' trade ids stay consecutive."""
    server, ws = stream_exchange
    config = load(env={"CRYPTOSTREAM_EXCHANGE_SOURCE": "websocket", "CRYPTOSTREAM_EXCHANGE_WS_BASE_URL":
                       f"ws://127.0.0.1:{ws.port}", "CRYPTOSTREAM_EXCHANGE_BASE_URLS": url_of(server),
                       "CRYPTOSTREAM_EXCHANGE_SYMBOLS": ",".join(KNOWN + ("NOPEUSDT",)),
                       "CRYPTOSTREAM_EXCHANGE_SYMBOL_CHECK_INTERVAL": "1s"})
    publisher, clock = MemoryPublisher(), CheckClock()
    producer = TradeProducer(config, publisher=publisher, watch=SymbolWatch(config.exchange, monotonic=clock))
    with capture_logs() as logs:
        runner = threading.Thread(target=producer.run)
        runner.start()
        try:
            delisted_at = delist_while_streaming(producer, server, clock, "BNBUSDT")
        finally:
            producer.stop()
            runner.join(30)
    connections = requests.get(url_of(server) + "/sim/stream", timeout=5).json()["connections"]
    assert connections[0]["symbols"] == list(KNOWN)
    assert connections[-1]["symbols"] == ["BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT"]
    assert producer.counters.renewals
    assert [(e["symbol"], e["status"]) for e in events(logs, "symbol_excluded")] == \
           [("NOPEUSDT", UNKNOWN), ("BNBUSDT", UNKNOWN)]
    assert not events(logs, "backfill_incomplete")
    assert producer.counters.missed == 0
    sent = publisher.sent + publisher.pending
    assert not [m for m in sent if m.symbol == "BNBUSDT" and m.event_time > delisted_at + 200]
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT"):
        ids = sorted(m.trade_id for m in sent if m.symbol == symbol)
        assert ids and ids == list(range(ids[0], ids[-1] + 1)), symbol


def delist_while_streaming(producer: TradeProducer, server, clock: CheckClock, symbol: str) -> float:
    """Delist `symbol` once its trades flow, let the periodic check come, and wait until a renewed
    connection without it delivers trades. Returns when it was delisted (epoch ms)."""
    wait_until(lambda: symbol in producer.last_id, f"a {symbol} trade from the stream")
    fault(server, mode="delist", symbol=symbol)
    delisted_at = time.time() * 1000
    clock.now += 1.0  # the 1 s check interval has passed

    def renewed_without_it() -> bool:
        conn = producer.conn
        return conn is not None and symbol not in conn.symbols and conn.messages > 0
    wait_until(renewed_without_it, f"a renewed connection without {symbol} delivering trades")
    return delisted_at


def test_backfill_of_a_delisted_symbol_stops_at_the_first_invalid_symbol(exchange) -> None:
    fault(exchange, mode="delist", symbol="ETHUSDT")
    config = exchange_config(exchange)
    slept: list[float] = []
    repair = Backfill(TradeHistory(config.exchange), 10, lambda used: 0.0, lambda s: slept.append(s) and False,
                      Backoff(0.5, 1)).repair([Gap("ETHUSDT", 1, 50)])
    assert repair.invalid_symbols == ["ETHUSDT"]
    assert repair.requests == 1
    assert not slept
    assert repair.incomplete == [Gap("ETHUSDT", 1, 50)]


def test_invalid_symbol_is_only_binances_1121() -> None:
    assert is_invalid_symbol(ExchangeError("x", 400, -1121))
    assert not is_invalid_symbol(ExchangeError("x", 400, -1100))
    assert not is_invalid_symbol(ExchangeError("x", 503))


# --- what bin/status and bin/daily-check show ---

def symbols_row(tmp_path, *lines: dict):
    (tmp_path / "log").mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    (tmp_path / "log" / "producer.log").write_text("".join(json.dumps({"timestamp": stamp, **line}) + "\n"
                                                           for line in lines))
    return producer_rows.symbols(Facts(NativeDeployment(load(env={"CRYPTOSTREAM_HOME": str(tmp_path)}))))


def test_daily_check_row_names_each_symbol_left_out_with_its_status(tmp_path) -> None:
    check = {"event": "symbol_check", "configured": ["BTCUSDT", "ETHUSDT", "NOPEUSDT"]}
    row = symbols_row(tmp_path, {**check, "active": ["BTCUSDT", "ETHUSDT", "NOPEUSDT"], "excluded": {}},
                      {**check, "active": ["BTCUSDT"], "excluded": {"NOPEUSDT": "UNKNOWN", "ETHUSDT": "BREAK"}})
    assert row.status.name == "WARN"
    assert row.value == {"NOPEUSDT": "UNKNOWN", "ETHUSDT": "BREAK"}
    assert "2 of 3" in row.detail
    assert "NOPEUSDT UNKNOWN" in row.detail
    assert "ETHUSDT BREAK" in row.detail
    assert symbols_row(tmp_path, {**check, "active": [], "excluded": dict.fromkeys(check["configured"],
                                                                                    "UNKNOWN")}).status.name == "FAIL"
    assert symbols_row(tmp_path, {**check, "active": check["configured"], "excluded": {}}).status.name == "OK"
    assert symbols_row(tmp_path, {"event": "poll"}).status.name == "WARN"  # never checked
