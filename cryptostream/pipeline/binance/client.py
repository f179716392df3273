"""Binance REST client for GET /api/v3/ticker/price: fallback hosts, rate limits, parsing.

Binance rules honoured here: 429/418 carry Retry-After and nothing may be sent before it
passes; X-MBX-USED-WEIGHT-1M reports the weight used in the current minute (limit 6000);
451 means this host is geo-blocked, so the next base URL is tried.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

import requests

from cryptostream.core.config import ExchangeConfig
from cryptostream.pipeline.binance.endpoints import TICKER_PATH, USED_WEIGHT_HEADER
from cryptostream.pipeline.schema import price_problem, symbol_problem

DEFAULT_RETRY_AFTER = 60.0


class ExchangeError(Exception):
    """The exchange answered, but not with usable prices (bad body, 4xx, 5xx)."""

    def __init__(self, message: str, status: int | None = None, code: int | None = None,
                 used_weight: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code  # Binance's error code from the body, e.g. -1121 "Invalid symbol."
        self.used_weight = used_weight  # error answers count against the minute's weight too


class ExchangeUnavailable(ExchangeError):
    """No base URL could be reached (connection errors, timeouts, all geo-blocked)."""


class RateLimited(ExchangeError):
    """429 or 418: nothing may be sent until `retry_after` seconds have passed."""

    def __init__(self, status: int, retry_after: float) -> None:
        super().__init__(f"rate limited with HTTP {status}, retry after {retry_after:g}s", status)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Quote:
    symbol: str
    price: str
    event_time: int


@dataclass
class TickerResult:
    quotes: list[Quote]
    rejected: list[tuple[str, str, str]] = field(default_factory=list)  # (symbol, price, reason)
    missing: list[str] = field(default_factory=list)
    used_weight: int | None = None
    latency_ms: float = 0.0
    base_url: str = ""


def parse_ticker(body: str, symbols: tuple[str, ...], received_ms: int) -> TickerResult:
    """Turn a ticker/price body into quotes; invalid and missing symbols are listed, not raised."""
    try:
        data = json.loads(body, parse_float=Decimal)
    except ValueError as exc:
        raise ExchangeError(f"malformed JSON from exchange: {exc}") from None
    items = data if isinstance(data, list) else [data]
    result = TickerResult(quotes=[])
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            raise ExchangeError("malformed ticker item: not an object")
        symbol, price = item.get("symbol"), item.get("price")
        reason = symbol_problem(symbol, symbols) or price_problem(price)
        if reason or symbol in seen:
            result.rejected.append((str(symbol)[:64], str(price)[:64], reason or "duplicate_symbol"))
            continue
        seen.add(symbol)
        result.quotes.append(Quote(symbol, price, received_ms))
    result.missing = [s for s in symbols if s not in seen]
    return result


def retry_after_seconds(headers: dict, default: float = DEFAULT_RETRY_AFTER) -> float:
    """Retry-After in seconds (Binance sends an integer); the default when absent or odd."""
    try:
        return max(0.0, float(headers.get("Retry-After", default)))
    except (TypeError, ValueError):
        return default


@dataclass
class Answer:
    """A 200 answer: its body, the minute's used weight, when and from where it came."""
    text: str
    used_weight: int | None
    received_ms: int
    latency_ms: float
    base_url: str


class RestApi:
    """GET requests to Binance over one kept-alive session, trying each base URL in turn on
    connection failures, timeouts and 451; 429/418 raise RateLimited, other errors ExchangeError."""

    def __init__(self, config: ExchangeConfig, session: requests.Session | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.session = session or requests.Session()
        self.clock = clock
        self.url_index = 0

    @property
    def base_url(self) -> str:
        return self.config.base_urls[self.url_index]

    def get(self, path: str, params: dict) -> Answer:
        errors = []
        for _ in range(len(self.config.base_urls)):
            try:
                return self._get_from(self.base_url, path, params)
            except ExchangeUnavailable as exc:
                errors.append(f"{self.base_url}: {exc}")
                self.url_index = (self.url_index + 1) % len(self.config.base_urls)
        raise ExchangeUnavailable("; ".join(errors))

    def _get_from(self, base_url: str, path: str, params: dict) -> Answer:
        started = time.monotonic()
        try:
            response = self.session.get(base_url + path, params=params,
                                        timeout=(self.config.connect_timeout, self.config.read_timeout))
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ExchangeUnavailable(type(exc).__name__) from None
        received_ms = int(self.clock() * 1000)
        if response.status_code == 451:
            raise ExchangeUnavailable("HTTP 451: unavailable from this location")
        if response.status_code in (418, 429):
            raise RateLimited(response.status_code, retry_after_seconds(response.headers))
        if response.status_code != 200:
            raise ExchangeError(f"HTTP {response.status_code}: {response.text[:200]}", response.status_code,
                                error_code(response.text),
                                _int_or_none(response.headers.get(USED_WEIGHT_HEADER)))
        return Answer(response.text, _int_or_none(response.headers.get(USED_WEIGHT_HEADER)), received_ms,
                      (time.monotonic() - started) * 1000, base_url)

    def close(self) -> None:
        self.session.close()


class BinanceClient(RestApi):
    """Fetches all configured symbols (or the given ones) in one weight-4 ticker request."""

    def fetch(self, symbols: tuple[str, ...] | None = None) -> TickerResult:
        symbols = self.config.symbols if symbols is None else tuple(symbols)
        params = {"symbols": json.dumps(list(symbols), separators=(",", ":"))}
        answer = self.get(TICKER_PATH, params)
        result = parse_ticker(answer.text, symbols, answer.received_ms)
        result.used_weight, result.latency_ms, result.base_url = answer.used_weight, answer.latency_ms, answer.base_url
        return result


def error_code(body: str) -> int | None:
    """Binance's numeric error code from an error body {"code": -1121, "msg": ...}; None if absent."""
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
