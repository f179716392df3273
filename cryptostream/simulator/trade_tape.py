"""The simulated exchange's trades: a seeded path with consecutive trade ids per symbol.

Every 100 ms each symbol trades with some chance, sometimes twice in the same millisecond
(two fills of one order, as on Binance), about five trades a second per symbol. Prices walk
and quantities are drawn from one seeded RNG, so the sequence of trades is the same on every
run (their times are the wall clock's). Trade ids start at the wall-clock milliseconds of the
first trade, so a restarted simulator never reuses an id.

The tape keeps the newest trades of each symbol for REST lookups by id (historicalTrades)
and hands each new trade to every subscriber (the WebSocket connections open at that time),
so a client that is away misses exactly the trades it can then fetch by id.
"""
from __future__ import annotations

import queue
import random
import threading
import time
from collections import deque
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from itertools import islice
from typing import Any, Callable

TICK = 0.1
EIGHT_PLACES = Decimal("0.00000001")
Row = tuple[int, str, str, int, bool]  # id, price, quantity, trade time (ms), buyer is maker


class TradeTape:
    def __init__(self, seed: int, start_prices: dict[str, str], trade_chance: float = 0.4,
                 twin_chance: float = 0.2, keep: int = 30_000, clock: Callable[[], float] = time.time) -> None:
        self._rng = random.Random(seed)  # a reproducible path, not cryptography
        self._prices = {symbol: Decimal(price) for symbol, price in start_prices.items()}
        self._rows: dict[str, deque[Row]] = {symbol: deque(maxlen=keep) for symbol in start_prices}
        self._next_id: dict[str, int] = {}
        self._subscribers: set[queue.SimpleQueue] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.trade_chance, self.twin_chance, self.clock = trade_chance, twin_chance, clock

    @property
    def symbols(self) -> list[str]:
        return list(self._rows)

    def start(self) -> None:
        """Trade every TICK in a daemon thread (once, however often called)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="trade-tape", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(TICK):
            self.tick()

    def tick(self) -> list[dict[str, Any]]:
        """One step of trading: append the new trades and hand them to every subscriber."""
        now_ms = int(self.clock() * 1000)
        with self._lock:
            made: list[dict[str, Any]] = []
            for symbol in self._rows:
                if self._rng.random() < self.trade_chance:
                    made.append(self._trade(symbol, now_ms))
                    if self._rng.random() < self.twin_chance:
                        made.append(self._trade(symbol, now_ms))  # same millisecond, next id
            for subscriber in self._subscribers:
                subscriber.put(made)
            return made

    def _trade(self, symbol: str, now_ms: int) -> dict[str, Any]:
        step = Decimal(self._rng.uniform(-0.0005, 0.0005)).quantize(Decimal("0.000001"))
        price = (self._prices[symbol] * (1 + step)).quantize(EIGHT_PLACES, ROUND_HALF_EVEN)
        self._prices[symbol] = price
        notional = Decimal(self._rng.uniform(10, 20_000))  # in the quote asset (USDT)
        quantity = max(EIGHT_PLACES, (notional / price).quantize(EIGHT_PLACES, ROUND_DOWN))
        trade_id = self._next_id.setdefault(symbol, now_ms)
        self._next_id[symbol] = trade_id + 1
        row = (trade_id, f"{price:.8f}", f"{quantity:.8f}", now_ms, self._rng.random() < 0.5)
        self._rows[symbol].append(row)
        return as_event(symbol, row)

    def subscribe(self) -> queue.SimpleQueue:
        """A queue that receives, from now on, the list of trades of each tick."""
        subscriber: queue.SimpleQueue = queue.SimpleQueue()
        with self._lock:
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: queue.SimpleQueue) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def since(self, symbol: str, from_id: int | None, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` kept trades with ids from `from_id` on; the newest `limit` without it."""
        with self._lock:
            rows = self._rows[symbol]
            if from_id is None:
                start = max(0, len(rows) - limit)
            else:
                start = max(0, from_id - rows[0][0]) if rows else 0
            return [as_event(symbol, row) for row in islice(rows, start, start + limit)]

    def bounds(self) -> dict[str, list[int]]:
        """Per symbol, the first and last trade id kept."""
        with self._lock:
            return {symbol: [rows[0][0], rows[-1][0]] for symbol, rows in self._rows.items() if rows}


def as_event(symbol: str, row: Row) -> dict[str, Any]:
    """A trade as the trade stream's "data" object."""
    trade_id, price, quantity, trade_time, maker = row
    return {"e": "trade", "E": trade_time, "s": symbol, "t": trade_id, "p": price, "q": quantity,
            "T": trade_time, "m": maker, "M": True}


def as_historical(event: dict[str, Any]) -> dict[str, Any]:
    """A trade as GET /api/v3/historicalTrades lists it."""
    quote = (Decimal(event["p"]) * Decimal(event["q"])).quantize(EIGHT_PLACES, ROUND_HALF_EVEN)
    return {"id": event["t"], "price": event["p"], "qty": event["q"], "quoteQty": f"{quote:.8f}",
            "time": event["T"], "isBuyerMaker": event["m"], "isBestMatch": True}
