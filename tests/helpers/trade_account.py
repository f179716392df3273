"""The WebSocket source's end-to-end account, shared by the native and the container stack's
tests: the simulated exchange's controls, the producer's log events, and the checks that every
simulated trade reached Kafka exactly as the tape has it and every window has its vwap."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import requests

from cryptostream.core.config import Config
from cryptostream.ops.reconcile import read_messages
from tests.helpers.harness import query


def sim(stack, path: str, **params: Any) -> Any:
    return requests.get(f"http://127.0.0.1:{stack.config.simulator.port}{path}", params=params, timeout=10).json()


def fault(stack, **body: Any) -> None:
    requests.post(f"http://127.0.0.1:{stack.config.simulator.port}/sim/faults", json=body,
                  timeout=10).raise_for_status()


def producer_events(stack, name: str) -> list[dict]:
    return [event for line in stack.log("producer").splitlines() if line.startswith("{")
            and (event := json.loads(line))["event"] == name]


def assert_every_simulated_trade_in_kafka(stack) -> None:
    """Per symbol, every trade id from the first to the last the producer published is in Kafka,
    with the simulator's price, quantity and trade time."""
    published: dict[str, dict[int, dict]] = {}
    for message in read_messages(stack.config):
        body = message.body
        if body.get("source") == "binance-ws":
            published.setdefault(body["symbol"], {})[body["trade_id"]] = body
    assert set(published) == set(stack.config.exchange.symbols)
    for symbol, trades in published.items():
        first, last = min(trades), max(trades)
        missing = sorted(set(range(first, last + 1)) - set(trades))
        assert not missing, f"{symbol}: {len(missing)} trade ids missing from Kafka, first {missing[:5]}"
        tape = sim(stack, "/sim/trades", symbol=symbol, fromId=first, limit=last - first + 1)
        assert [t["t"] for t in tape] == list(range(first, last + 1))
        for trade in tape:
            body = trades[trade["t"]]
            assert (body["price"], body["quantity"], body["event_time"]) == (trade["p"], trade["q"], trade["T"])


def first_trade_time(config: Config) -> datetime:
    """The trade time (naive UTC, as MySQL stores times) of the earliest trade in Kafka."""
    times = [m.body["event_time"] for m in read_messages(config) if m.body.get("source") == "binance-ws"]
    assert times, "no trade in Kafka"
    return datetime.fromtimestamp(min(times) / 1000, tz=timezone.utc).replace(tzinfo=None)


def assert_vwap_in_every_window(config: Config, since: datetime | None = None, minimum: int = 5 * 10) -> None:
    """Every window of trades (those starting at `since` or later; all without it) has volume,
    notional and a vwap between its lowest and highest price."""
    rows = query(config, "SELECT symbol, start_time, min_price, max_price, volume, notional, vwap "
                         "FROM moving_averages WHERE start_time >= %s", (since or datetime(1970, 1, 1),))
    assert len(rows) >= minimum, f"{len(rows)} windows of trades, expected at least {minimum}"
    for symbol, start, low, high, volume, notional, vwap in rows:
        assert volume > 0, (symbol, start)
        assert notional > 0, (symbol, start)
        assert vwap is not None, (symbol, start)
        assert low <= vwap <= high, (symbol, start, low, vwap, high)
