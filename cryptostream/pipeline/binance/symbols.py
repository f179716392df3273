"""Which configured symbols the exchange trades now: GET /api/v3/exchangeInfo.

Binance answers 400 {"code": -1121, "msg": "Invalid symbol."} to a whole ticker request when
one of its symbols is unknown or delisted, so one such symbol would silence all the others.
The producer therefore asks exchangeInfo at start, every exchange.symbol_check_interval and
after any -1121, leaves out each symbol that is unknown or not TRADING (BREAK, HALT, ...),
logs it once with its status, and takes it back once it trades again.

exchangeInfo costs weight 20 with `symbol`, `symbols` or neither. Asked for a list that holds
an unknown symbol it too answers -1121, without naming the symbol; the full list (no
parameter) would name every symbol but is megabytes. So the list is halved until each
unknown symbol stands alone: one request when every symbol is known, about 2·log2(n) more per
unknown one. Each request first needs room under the minute's weight headroom.
"""
from __future__ import annotations

import json
import time
from typing import Callable

import structlog

from cryptostream.core import events, metrics
from cryptostream.core.config import ExchangeConfig
from cryptostream.pipeline.binance.client import ExchangeError, RateLimited, RestApi
from cryptostream.pipeline.binance.endpoints import EXCHANGE_INFO_PATH, EXCHANGE_INFO_WEIGHT

INVALID_SYMBOL = -1121
TRADING = "TRADING"
UNKNOWN = "UNKNOWN"  # our name for what the exchange does not list (it answers -1121)
RECHECK_AFTER = 30.0  # after a -1121 that a check could not explain, the next -1121 check waits this long
RETRY_FAILED = 60.0  # a check that could not reach the exchange is tried again after this
log = structlog.get_logger("producer")


def is_invalid_symbol(exc: Exception) -> bool:
    """Binance's answer to a request naming a symbol it does not list."""
    return isinstance(exc, ExchangeError) and exc.status == 400 and exc.code == INVALID_SYMBOL


class WeightBudget:
    """The minute's used request weight, as the newest answer reported it (Binance's counter
    resets each clock minute), so a check can tell whether its requests still fit."""

    def __init__(self, exchange: ExchangeConfig, clock: Callable[[], float] = time.time) -> None:
        self.limit = exchange.weight_limit_per_minute * exchange.weight_headroom
        self.clock = clock
        self.used, self.minute = 0, -1

    def note(self, used: int | None) -> None:
        if used is not None:
            self.used, self.minute = used, int(self.clock() // 60)

    def room_for(self, weight: int) -> bool:
        used = self.used if int(self.clock() // 60) == self.minute else 0
        return used + weight <= self.limit


class WeightDeferred(Exception):
    """The check's next request would cross the minute's weight headroom."""


def parse_statuses(body: str, symbols: tuple[str, ...]) -> dict[str, str]:
    """{symbol: status} for the asked symbols from an exchangeInfo body; one it leaves out is UNKNOWN."""
    try:
        items = json.loads(body).get("symbols")
    except (ValueError, AttributeError):
        raise ExchangeError("malformed exchangeInfo answer: not a JSON object") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ExchangeError("malformed exchangeInfo answer: symbols is not a list of objects")
    listed = {i.get("symbol"): str(i.get("status"))[:32] for i in items}
    return {symbol: listed.get(symbol, UNKNOWN) for symbol in symbols}


class SymbolInfo(RestApi):
    """exchangeInfo for a list of symbols, with the ticker client's fallback and error rules."""

    def statuses(self, symbols: tuple[str, ...], budget: WeightBudget) -> tuple[dict[str, str], int]:
        """({symbol: status}, requests made); raises WeightDeferred, RateLimited, ExchangeError."""
        self.requests = 0
        return self._lookup(tuple(symbols), budget), self.requests

    def _lookup(self, symbols: tuple[str, ...], budget: WeightBudget) -> dict[str, str]:
        try:
            return parse_statuses(self._ask(symbols, budget), symbols)
        except ExchangeError as exc:
            if not is_invalid_symbol(exc):
                raise
        if len(symbols) == 1:
            return {symbols[0]: UNKNOWN}
        half = len(symbols) // 2  # the -1121 does not say which one: halve until it stands alone
        return {**self._lookup(symbols[:half], budget), **self._lookup(symbols[half:], budget)}

    def _ask(self, symbols: tuple[str, ...], budget: WeightBudget) -> str:
        if not budget.room_for(EXCHANGE_INFO_WEIGHT):
            raise WeightDeferred()
        params = {"symbol": symbols[0]} if len(symbols) == 1 else \
            {"symbols": json.dumps(list(symbols), separators=(",", ":"))}
        self.requests += 1
        try:
            answer = self.get(EXCHANGE_INFO_PATH, params)
        except ExchangeError as exc:
            budget.note(exc.used_weight)
            raise
        budget.note(answer.used_weight)
        return answer.text


class SymbolWatch:
    """The configured symbols, which of them are left out and why, and when to check again.
    `active` is what the ticker request and the trade stream ask for."""

    def __init__(self, exchange: ExchangeConfig, info: SymbolInfo | None = None,
                 budget: WeightBudget | None = None, monotonic: Callable[[], float] = time.monotonic,
                 clock: Callable[[], float] = time.time) -> None:
        self.configured = tuple(exchange.symbols)
        self.interval = exchange.symbol_check_interval
        self.info = info or SymbolInfo(exchange, clock=clock)
        self.budget = budget or WeightBudget(exchange, clock)
        self.monotonic = monotonic
        self.excluded: dict[str, str] = {}  # symbol -> status, for every symbol left out
        self.next_check = 0.0  # due at once: the first check runs before the first request
        self.last_check = -RECHECK_AFTER
        self.triggered = False  # a -1121 asked for the coming check
        self.unexplained = False  # the last check asked for by a -1121 found nothing to leave out
        for symbol in self.configured:
            metrics.SYMBOL_EXCLUDED.labels(symbol).set(0)

    @property
    def active(self) -> tuple[str, ...]:
        return tuple(s for s in self.configured if s not in self.excluded)

    def due(self) -> bool:
        return self.monotonic() >= self.next_check

    def invalid_symbol_seen(self) -> bool:
        """A -1121 from the exchange: check now. But if the last check made for a -1121 found
        nothing to leave out (the exchange contradicts itself), wait RECHECK_AFTER after it, so
        requests back off instead of checking on every poll. True when a check is due now."""
        now = self.monotonic()
        earliest = self.last_check + RECHECK_AFTER if self.unexplained else now
        self.next_check = min(self.next_check, max(now, earliest))
        self.triggered = True
        return self.due()

    def check(self) -> bool:
        """Ask the exchange and apply the answer; True when `active` changed. A failed check
        keeps the current set and is retried later; RateLimited is raised (Retry-After rules)."""
        now = self.monotonic()
        try:
            statuses, requests = self.info.statuses(self.configured, self.budget)
        except WeightDeferred:
            self.next_check = now + 60.0 - time.time() % 60.0  # the weight counter resets each minute
            log.info(events.SYMBOL_CHECK_DEFERRED, reason="request weight headroom reached",
                     retry_in_s=round(self.next_check - now, 1))
            return False
        except RateLimited as exc:
            self.next_check = now + exc.retry_after
            raise
        except ExchangeError as exc:
            self.next_check = now + RETRY_FAILED
            log.warning(events.SYMBOL_CHECK_FAILED, error=type(exc).__name__, detail=str(exc)[:300], status=exc.status,
                        retry_in_s=RETRY_FAILED, active=list(self.active), excluded=self.excluded or None)
            return False
        self.last_check, self.next_check = now, now + self.interval
        before = self.active
        self._apply(statuses)
        self.unexplained, self.triggered = self.triggered and self.active == before, False
        log.info(events.SYMBOL_CHECK, configured=list(self.configured), active=list(self.active),
                 excluded=self.excluded, requests=requests, used_weight_1m=self.budget.used,
                 next_check_s=self.interval)
        return self.active != before

    def _apply(self, statuses: dict[str, str]) -> None:
        for symbol in self.configured:
            status, was = statuses.get(symbol, UNKNOWN), self.excluded.get(symbol)
            if status == TRADING and was is not None:
                del self.excluded[symbol]
                metrics.SYMBOL_EXCLUDED.labels(symbol).set(0)
                log.info(events.SYMBOL_INCLUDED, symbol=symbol, status=status, previous_status=was)
            elif status != TRADING and status != was:  # logged once per symbol and status
                self.excluded[symbol] = status
                metrics.SYMBOL_EXCLUDED.labels(symbol).set(1)
                metrics.SYMBOL_EXCLUSIONS.labels(symbol, status).inc()
                log.warning(events.SYMBOL_EXCLUDED, symbol=symbol, status=status, previous_status=was,
                            meaning=meaning(status), still_active=list(self.active))


def meaning(status: str) -> str:
    """What a status tells the operator, in a few words."""
    if status == UNKNOWN:
        return "the exchange does not list it (unknown or delisted; it answers -1121 Invalid symbol)"
    return f"listed but not trading (status {status}); taken back once it trades again"
