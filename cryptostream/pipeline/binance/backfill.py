"""Gap repair for the trade stream: the trades missed while disconnected, fetched over REST.

GET /api/v3/historicalTrades?symbol=X&fromId=N&limit=1000 returns up to 1000 trades with
ids from N on, oldest first, for request weight 25; current Binance documentation lists no
security type for it (public market data: no API key). /api/v3/trades has no fromId (only the
newest trades) and /api/v3/aggTrades merges the trades of one taker order under another id,
so neither can say which trade ids were missed.

The repair walks each gap page by page, from the last id seen + 1 up to the first id the new
connection delivered (or, when none has come yet, up to the present), within a request budget
and the minute's weight headroom (the ticker client's rules: Retry-After on 429/418, the next
base URL on connection failures and 451). A 400 -1121 (the symbol is no longer listed) ends
that symbol's repair at once, named in `invalid_symbols`, so the producer checks its symbols.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable


from cryptostream.core.backoff import Backoff
from cryptostream.pipeline.binance.client import ExchangeError, RateLimited, RestApi
from cryptostream.pipeline.binance.endpoints import HISTORICAL_TRADES_PATH
from cryptostream.pipeline.binance.symbols import is_invalid_symbol
from cryptostream.pipeline.binance.websocket import Trade, TradeMessageError, parse_trade

PAGE_LIMIT = 1000
MAX_FAILURES = 5  # consecutive failed requests before a gap is given up as incomplete


@dataclass(frozen=True)
class Gap:
    """Trade ids from `from_id` up to (not including) `until_id`; None: up to the present."""
    symbol: str
    from_id: int
    until_id: int | None = None

    def wants(self, trade_id: int) -> bool:
        return trade_id >= self.from_id and (self.until_id is None or trade_id < self.until_id)


@dataclass
class TradePage:
    trades: list[Trade]
    rejected: list[TradeMessageError] = field(default_factory=list)
    received: int = 0  # items in the answer, valid or not (a full page means more may follow)
    used_weight: int | None = None
    latency_ms: float = 0.0
    base_url: str = ""


def parse_trades(body: str, symbol: str) -> TradePage:
    """A historicalTrades answer -> trades; bad items are listed (with their ids), not raised."""
    try:
        items = json.loads(body)
    except ValueError as exc:
        raise ExchangeError(f"malformed JSON from exchange: {exc}") from None
    if not isinstance(items, list):
        raise ExchangeError("malformed historicalTrades answer: not a list")
    page = TradePage(trades=[], received=len(items))
    for item in items:
        if not isinstance(item, dict):
            raise ExchangeError("malformed historicalTrades item: not an object")
        as_event = {"e": "trade", "s": symbol, "t": item.get("id"), "p": item.get("price"),
                    "q": item.get("qty"), "T": item.get("time")}
        try:
            page.trades.append(parse_trade(as_event, (symbol,), json.dumps(item)))
        except TradeMessageError as exc:
            page.rejected.append(exc)
    return page


class TradeHistory(RestApi):
    """GET /api/v3/historicalTrades, with the ticker client's fallback and error rules."""

    def page(self, symbol: str, from_id: int, limit: int = PAGE_LIMIT) -> TradePage:
        answer = self.get(HISTORICAL_TRADES_PATH, {"symbol": symbol, "fromId": from_id, "limit": limit})
        page = parse_trades(answer.text, symbol)
        page.used_weight, page.latency_ms, page.base_url = answer.used_weight, answer.latency_ms, answer.base_url
        return page


@dataclass
class Repair:
    """What one gap repair fetched, and what it could not."""
    trades: list[Trade] = field(default_factory=list)
    rejected: list[TradeMessageError] = field(default_factory=list)
    requests: int = 0
    failures: int = 0
    used_weight: int | None = None
    incomplete: list[Gap] = field(default_factory=list)  # the part of each gap not fetched
    errors: list[str] = field(default_factory=list)
    invalid_symbols: list[str] = field(default_factory=list)  # answered -1121: unknown or delisted


class Backfill:
    """Fetches gaps page by page. `weight_pause(used_weight)` says how long the minute's weight
    asks us to hold off; `sleep(seconds)` waits and returns True when the program is stopping."""

    def __init__(self, history: TradeHistory, max_requests: int, weight_pause: Callable[[int | None], float],
                 sleep: Callable[[float], bool], backoff: Backoff,
                 on_request: Callable[[str, TradePage | None], None] = lambda outcome, page: None) -> None:
        self.history = history
        self.max_requests = max_requests
        self.weight_pause = weight_pause
        self.sleep = sleep
        self.backoff = backoff
        self.on_request = on_request

    def repair(self, gaps: list[Gap]) -> Repair:
        result = Repair()
        for index, gap in enumerate(gaps):
            try:
                left = self._fill(gap, result)
            except _Stopping as stop:
                result.incomplete += [stop.left, *gaps[index + 1:]]
                break
            if left is not None:
                result.incomplete.append(left)
        return result

    def _fill(self, gap: Gap, result: Repair) -> Gap | None:
        """Fetch one gap into `result`; returns what is left of it (None when complete)."""
        from_id, failures, hold_off = gap.from_id, 0, 0.0
        while gap.until_id is None or from_id < gap.until_id:
            left = Gap(gap.symbol, from_id, gap.until_id)
            if result.requests >= self.max_requests or failures >= MAX_FAILURES:
                return left
            self._wait(hold_off, left)  # the minute's weight, as the last answer reported it
            limit = PAGE_LIMIT if gap.until_id is None else min(PAGE_LIMIT, gap.until_id - from_id)
            result.requests += 1
            page = self._request(gap.symbol, from_id, limit, result, left)
            if page is None:
                if gap.symbol in result.invalid_symbols:
                    return left  # retrying cannot help: the exchange no longer lists the symbol
                failures += 1
                continue
            failures, hold_off = 0, self.weight_pause(page.used_weight)
            result.trades += [t for t in page.trades if gap.wants(t.trade_id)]
            result.rejected += [r for r in page.rejected if r.trade_id is None or gap.wants(r.trade_id)]
            ids = [t.trade_id for t in page.trades] + [r.trade_id for r in page.rejected if r.trade_id is not None]
            if page.received < limit or not ids:
                return None  # reached the present
            from_id = max(ids) + 1
        return None

    def _wait(self, seconds: float, left: Gap) -> None:
        if seconds > 0 and self.sleep(seconds):
            raise _Stopping(left)

    def _request(self, symbol: str, from_id: int, limit: int, result: Repair, left: Gap) -> TradePage | None:
        try:
            page = self.history.page(symbol, from_id, limit)
        except RateLimited as exc:
            self.on_request("rate_limited", None)
            result.failures += 1
            result.errors.append(str(exc))
            self._wait(exc.retry_after, left)  # nothing may be sent before Retry-After has passed
            return None
        except ExchangeError as exc:
            self.on_request("error", None)
            result.failures += 1
            result.errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
            if is_invalid_symbol(exc):
                result.invalid_symbols.append(symbol)
                return None
            self._wait(self.backoff.next_delay(), left)
            return None
        self.backoff.reset()
        self.on_request("ok", page)
        result.used_weight = page.used_weight
        return page


class _Stopping(Exception):
    """The program is stopping in the middle of a repair; `left` is what was not fetched."""

    def __init__(self, left: Gap) -> None:
        super().__init__(left)
        self.left = left
