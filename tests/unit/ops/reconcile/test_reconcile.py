"""bin/reconcile's accounting, against figures worked out by hand."""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from cryptostream.core.config import load
from cryptostream.ops.reconcile import Message, compare, reference

CONFIG = load(env={"CRYPTOSTREAM_PROCESSOR_WINDOW": "5s"})
T0 = 1_764_200_000_000  # a multiple of 5000 ms: 2025-11-26 23:33:20 UTC
START = datetime(2025, 11, 26, 23, 33, 20)


def msg(offset: int, price: str, event_ms: int, symbol: str = "BTCUSDT", partition: int = 0) -> Message:
    body = {"schema_version": 1, "symbol": symbol, "price": price, "event_time": event_ms,
            "ingest_time": event_ms, "source": "test"}
    return Message(partition, offset, json.dumps(body).encode(), event_ms)


MESSAGES = [msg(0, "10.5", T0 + 300), msg(1, "9.5", T0 + 100), msg(2, "12", T0 + 4_999), msg(3, "7", T0 + 5_000)]


def row(**changes) -> dict:
    base = {"symbol": "BTCUSDT", "start_time": START, "end_time": START.replace(second=25),
            "average_price": Decimal("10.666666666667"), "min_price": Decimal("9.5"), "max_price": Decimal("12"),
            "open_price": Decimal("9.5"), "close_price": Decimal("12"), "sample_count": 3, "price_sum": Decimal("32")}
    return {**base, **changes}


SECOND = row(start_time=START.replace(second=25), end_time=START.replace(second=30), average_price=Decimal(7),
             min_price=Decimal(7), max_price=Decimal(7), open_price=Decimal(7), close_price=Decimal(7),
             sample_count=1, price_sum=Decimal(7))


def test_reference_figures_by_hand() -> None:
    """Two windows: 9.5, 10.5, 12 (open 9.5 by event time, close 12) and 7 alone."""
    figures = reference(MESSAGES, 5_000)
    assert figures[("BTCUSDT", T0)] == {"sample_count": 3, "price_sum": Decimal("32"), "min_price": Decimal("9.5"),
                                        "max_price": Decimal("12"), "open_price": Decimal("9.5"),
                                        "close_price": Decimal("12"), "average_price": Decimal(32) / 3,
                                        "volume": None, "notional": None, "vwap": None}
    assert figures[("BTCUSDT", T0 + 5_000)]["sample_count"] == 1


def test_exact_account() -> None:
    """The right rows and no rejects account for every message."""
    account = compare(CONFIG, MESSAGES, [row(), SECOND], {})
    assert account.exact
    assert account.windows == 2
    assert account.messages == 4


def test_every_kind_of_discrepancy_is_named() -> None:
    """Missing, extra, duplicate and wrong rows each produce a problem line."""
    wrong = row(sample_count=4, average_price=Decimal("10.6667"))
    extra = row(symbol="ETHUSDT")
    problems = compare(CONFIG, MESSAGES, [wrong, row(), extra], {}).problems
    assert any("duplicate row BTCUSDT" in p for p in problems)
    assert any(p.startswith("missing window BTCUSDT") for p in problems)
    assert any(p.startswith("extra window ETHUSDT") for p in problems)
    figures = compare(CONFIG, MESSAGES, [wrong, SECOND], {}).problems
    assert any("sample_count 4 != 3" in p for p in figures)
    assert any("average_price" in p for p in figures)


def test_rejects_must_match_the_rules() -> None:
    """An invalid message must be stored with its reason; a late valid one may be left out of the windows."""
    junk = Message(1, 0, b"not json", T0)
    assert not compare(CONFIG, [*MESSAGES, junk], [row(), SECOND], {}).exact
    assert compare(CONFIG, [*MESSAGES, junk], [row(), SECOND], {(1, 0): "not_json"}).exact
    late = msg(4, "100", T0 + 1_000)
    assert compare(CONFIG, [*MESSAGES, late], [row(), SECOND], {(0, 4): "late"}).exact
    assert not compare(CONFIG, MESSAGES, [row(), SECOND], {(0, 0): "bad_price"}).exact


def test_since_and_until_limit_the_windows_compared() -> None:
    """Only windows starting in [since, until) are compared; all messages are still accounted."""
    account = compare(CONFIG, MESSAGES, [SECOND], {}, since_ms=T0 + 5_000)
    assert account.exact
    assert account.windows == 1


def test_a_price_delivered_twice_is_counted_once() -> None:
    """A copy of a counted price (same symbol and event time) must be rejected as duplicate;
    counting it, or rejecting it when no copy was counted, is a problem."""
    copy = msg(4, "12", T0 + 4_999)
    assert compare(CONFIG, [*MESSAGES, copy], [row(), SECOND], {(0, 4): "duplicate"}).exact
    twice = row(sample_count=4, price_sum=Decimal("44"), average_price=Decimal(11))
    counted_twice = compare(CONFIG, [*MESSAGES, copy], [twice, SECOND], {}).problems
    assert any("counted twice" in p for p in counted_twice)
    orphan = compare(CONFIG, MESSAGES, [row(), SECOND.copy()], {(0, 3): "duplicate"}).problems
    assert any("no copy of it was counted" in p for p in orphan)


def test_windows_older_than_the_retained_messages_are_not_compared() -> None:
    """After retention deleted partition 0's oldest messages, comparison starts at the first
    window beginning after its oldest retained message plus the watermark delay (2 s here)."""
    from cryptostream.ops.reconcile import retained_since
    config = load(env={"CRYPTOSTREAM_PROCESSOR_WINDOW": "5s", "CRYPTOSTREAM_PROCESSOR_WATERMARK": "2s"})
    assert retained_since(config, MESSAGES, set()) is None
    assert retained_since(config, MESSAGES, {0}) == T0 + 5_000  # oldest retained T0+100, +2 s
    late_first = [msg(9, "1", T0 + 3_500, partition=1), *MESSAGES]
    assert retained_since(config, late_first, {0, 1}) == T0 + 10_000  # T0+3500 +2 s is in the 2nd window
    account = compare(config, MESSAGES, [row(), SECOND], {}, since_ms=T0 + 5_000)
    assert account.exact
    assert account.windows == 1


def test_vwap_of_trades_by_hand() -> None:
    """Two trades (10 x 1 and 13 x 3) and a price sample without quantity: volume 4, notional
    49, vwap 12.25; the average still counts all three prices."""
    def trade(offset: int, price: str, quantity: str, trade_id: int) -> Message:
        body = {"schema_version": 2, "symbol": "BTCUSDT", "price": price, "event_time": T0 + offset,
                "ingest_time": T0 + offset, "source": "ws", "trade_id": trade_id, "quantity": quantity}
        return Message(0, offset, json.dumps(body).encode(), T0 + offset)
    figures = reference([trade(1, "10", "1", 5), trade(2, "13", "3", 6), msg(3, "7", T0 + 3)], 5_000)[("BTCUSDT", T0)]
    assert (figures["volume"], figures["notional"], figures["vwap"]) == (Decimal(4), Decimal(49), Decimal("12.25"))
    assert figures["average_price"] == Decimal(10)
