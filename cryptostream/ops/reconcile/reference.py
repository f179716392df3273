"""Recomputing the windows: the figures MySQL must hold for the messages the processor counted."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

from cryptostream.ops.reconcile.messages import Message


def window_start(event_ms: int, window_ms: int) -> int:
    return event_ms - event_ms % window_ms


def reference(messages: Iterable[Message], window_ms: int) -> dict[tuple[str, int], dict[str, Any]]:
    """Per (symbol, window start ms) the figures MySQL must hold; open/close by (event time,
    partition, offset), the processor's order."""
    windows: dict[tuple[str, int], list[tuple[int, int, int, Decimal, Decimal | None]]] = {}
    for m in messages:
        body = m.body
        key = (body["symbol"], window_start(body["event_time"], window_ms))
        quantity = Decimal(str(body["quantity"])) if body.get("quantity") is not None else None
        windows.setdefault(key, []).append((body["event_time"], m.partition, m.offset, Decimal(str(body["price"])),
                                            quantity))
    return {key: _figures(rows) for key, rows in windows.items()}


def _figures(rows: list[tuple[int, int, int, Decimal, Decimal | None]]) -> dict[str, Any]:
    """One window's figures from its (event time, partition, offset, price, quantity) rows."""
    rows.sort(key=lambda r: r[:3])
    prices = [r[3] for r in rows]
    trades = [(r[3], r[4]) for r in rows if r[4] is not None]
    volume = sum(q for _, q in trades) if trades else None
    notional = sum(p * q for p, q in trades) if trades else None
    return {"sample_count": len(prices), "price_sum": sum(prices), "min_price": min(prices),
            "max_price": max(prices), "open_price": prices[0], "close_price": prices[-1],
            "average_price": sum(prices) / len(prices), "volume": volume, "notional": notional,
            "vwap": notional / volume if volume else None}
