"""Exchange -> Kafka: trade ids missing between two in the topic make the account inexact."""
from __future__ import annotations

import json

import pytest

from cryptostream.ops.reconcile import Message
from cryptostream.ops.reconcile.trade_ids import open_gaps

pytestmark = pytest.mark.unit
T0 = 1_764_200_000_000  # a multiple of 5 s: 2025-11-26 23:33:20 UTC


def trade(offset: int, trade_id: int, event_ms: int, symbol: str = "BTCUSDT") -> Message:
    body = {"schema_version": 2, "symbol": symbol, "price": "1.5", "quantity": "0.1", "trade_id": trade_id,
            "event_time": event_ms, "ingest_time": event_ms, "source": "binance-ws"}
    return Message(0, offset, json.dumps(body).encode(), event_ms)


def test_consecutive_ids_in_any_order_and_repeated_leave_no_gap() -> None:
    messages = [trade(0, 11, T0 + 10), trade(1, 10, T0), trade(2, 11, T0 + 10), trade(3, 12, T0 + 20),
                trade(4, 5, T0, "ETHUSDT"), Message(0, 5, b"not json", T0)]
    assert open_gaps(messages, 5_000) == []


def test_a_run_of_missing_ids_is_one_problem_named_by_its_window() -> None:
    messages = [trade(0, 10, T0 + 100), trade(1, 14, T0 + 6_000), trade(2, 15, T0 + 6_100),
                trade(3, 3, T0, "ETHUSDT"), trade(4, 5, T0 + 11_000, "ETHUSDT")]
    assert open_gaps(messages, 5_000) == [
        "trade ids 11-13 of BTCUSDT missing in Kafka (3 trades; window 2025-11-26 23:33:20)",
        "trade ids 4-4 of ETHUSDT missing in Kafka (1 trade; window 2025-11-26 23:33:20)"]


def test_only_gaps_in_the_windows_asked_for() -> None:
    messages = [trade(0, 10, T0 + 100), trade(1, 12, T0 + 6_000), trade(2, 20, T0 + 7_000)]
    assert [p.split(" (")[0] for p in open_gaps(messages, 5_000, since_ms=T0 + 5_000)] == \
        ["trade ids 13-19 of BTCUSDT missing in Kafka"]
    assert [p.split(" (")[0] for p in open_gaps(messages, 5_000, until_ms=T0 + 5_000)] == \
        ["trade ids 11-11 of BTCUSDT missing in Kafka"]
