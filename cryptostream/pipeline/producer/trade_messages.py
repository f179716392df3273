"""Trades as price messages (source binance-ws), and the trade ids that keep one trade from
being published twice."""
from __future__ import annotations

from collections import deque
from typing import Callable

from cryptostream.pipeline.binance.backfill import Gap
from cryptostream.pipeline.binance.websocket import Trade, TradeMessageError
from cryptostream.pipeline.schema import PriceMessage

SOURCE = "binance-ws"  # live and backfilled trades alike: the processor's dedup key includes it
RECENT_IDS = 20_000  # per symbol; minutes of trades even for the busiest symbols


def to_message(trade: Trade, now_ms: int) -> PriceMessage:
    return PriceMessage(symbol=trade.symbol, price=trade.price, event_time=trade.trade_time, ingest_time=now_ms,
                        source=SOURCE, trade_id=trade.trade_id, quantity=trade.quantity)


class RecentIds:
    """The last `per_symbol` trade ids seen of each symbol, to skip a trade that comes twice."""

    def __init__(self, per_symbol: int = RECENT_IDS) -> None:
        self.per_symbol = per_symbol
        self._order: dict[str, deque[int]] = {}
        self._seen: dict[str, set[int]] = {}

    def add(self, symbol: str, trade_id: int) -> bool:
        """Remember the id; False when it was already there."""
        seen = self._seen.setdefault(symbol, set())
        if trade_id in seen:
            return False
        order = self._order.setdefault(symbol, deque())
        if len(order) >= self.per_symbol:
            seen.discard(order.popleft())
        order.append(trade_id)
        seen.add(trade_id)
        return True


def first_ids(items: list[Trade | TradeMessageError]) -> dict[str, int]:
    """The lowest trade id per symbol among `items`."""
    return _ids_by_symbol(items, min)


def newest_ids(items: list[Trade | TradeMessageError]) -> dict[str, int]:
    """The highest trade id per symbol among `items`."""
    return _ids_by_symbol(items, max)


def _ids_by_symbol(items: list[Trade | TradeMessageError], pick: Callable[[int, int], int]) -> dict[str, int]:
    chosen: dict[str, int] = {}
    for item in items:
        if item.trade_id is not None:
            chosen[item.symbol] = pick(chosen.get(item.symbol, item.trade_id), item.trade_id)
    return chosen


def live_gaps(last_id: dict[str, int], items: list[Trade | TradeMessageError], active: tuple[str, ...]) -> list[Gap]:
    """Every jump of a symbol's trade ids on a live connection: Binance's ids are consecutive per
    symbol, so an id above the last one seen + 1 means trades were skipped. A lower or repeated
    id is no gap (it is published once, or skipped as seen)."""
    last, found = dict(last_id), []
    for item in items:
        if item.trade_id is None or item.symbol not in active:
            continue
        before = last.get(item.symbol)
        if before is not None and item.trade_id > before + 1:
            found.append(Gap(item.symbol, before + 1, item.trade_id))
        last[item.symbol] = max(before if before is not None else item.trade_id, item.trade_id)
    return found
