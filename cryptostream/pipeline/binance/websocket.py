"""Binance's WebSocket trade stream: the combined-stream URL, trade parsing, one connection.

    <ws_base_url>/stream?streams=btcusdt@trade/ethusdt@trade
    {"stream": "btcusdt@trade", "data": {"e": "trade", "E": 1672515782136, "s": "BTCUSDT",
     "t": 12345, "p": "0.001", "q": "100", "T": 1672515782136, "m": true, "M": true}}

E is when the event was sent, T when the trade happened (the event time we publish), t the
trade id (unique and increasing per symbol), p and q decimal strings, m whether the buyer was
the maker, M to be ignored.

Binance's rules, as this client keeps them: the server pings every 20 s and drops a
connection whose pong (with the ping's payload) does not come within a minute; the library
answers each ping itself and this client sends nothing else (the streams are in the URL, so
there are no subscribe messages and no pings of our own), which keeps it far below the 5
messages per second a connection may send. A server that pings so fast that our pongs would
cross that limit gets the connection closed instead. A connection lives at most 24 hours.
"""
from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable

from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.frames import Opcode
from websockets.sync.client import ClientConnection, connect

from cryptostream.pipeline.binance.limiter import SlidingWindowLimiter
from cryptostream.pipeline.schema import price_problem, quantity_problem, symbol_problem

SENT_PER_SECOND = 5  # what Binance allows a connection to send: pings, pongs, control messages
IDLE_TIMEOUT = 60.0  # no frame at all (trade or ping) for this long: the connection is dead
MAX_QUEUE = 20_000  # frames the library buffers while we backfill; beyond it TCP pushes back
_ids = itertools.count(1)


class TradeMessageError(ValueError):
    """A stream message that is not a valid trade; `reason` is a short code for logs and metrics."""

    def __init__(self, reason: str, detail: str, raw: bytes | str = b"") -> None:
        excerpt = raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")
        super().__init__(f"{reason}: {detail} (message: {excerpt[:200]!r})")
        self.reason = reason
        self.trade_id: int | None = None  # known when only another field is wrong
        self.symbol: str | None = None


class Disconnected(Exception):
    """The connection ended; `code` and `reason` as the close frame gave them, if any."""

    def __init__(self, detail: str, code: int | None = None) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class Trade:
    symbol: str
    trade_id: int
    price: str
    quantity: str
    trade_time: int  # epoch ms, Binance's T


def stream_url(base_url: str, symbols: Iterable[str]) -> str:
    """The combined stream of every symbol's trades."""
    streams = "/".join(f"{symbol.lower()}@trade" for symbol in symbols)
    return f"{base_url.rstrip('/')}/stream?streams={streams}"


def parse_message(raw: bytes | str, symbols: Iterable[str]) -> Trade:
    """One combined-stream message -> a Trade, or TradeMessageError saying what is wrong."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else raw
        body = json.loads(text, parse_float=Decimal)
    except (UnicodeDecodeError, ValueError) as exc:
        raise TradeMessageError("not_json", str(exc), raw) from None
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise TradeMessageError("wrong_shape", 'expected {"stream": ..., "data": {...}}', raw)
    trade = parse_trade(body["data"], symbols, raw)
    if body.get("stream") != f"{trade.symbol.lower()}@trade":
        raise _with_trade(TradeMessageError("stream_mismatch", f"stream {body.get('stream')!r} carries "
                                            f"a {trade.symbol} trade", raw), trade.symbol, trade.trade_id)
    return trade


def parse_trade(data: dict[str, Any], symbols: Iterable[str], raw: bytes | str = b"") -> Trade:
    """A trade event's fields, checked with the message schema's own rules."""
    if data.get("e") != "trade":
        raise TradeMessageError("not_a_trade", f"event type {data.get('e')!r}", raw)
    symbol, trade_id = data.get("s"), data.get("t")
    reason = symbol_problem(symbol, symbols)
    if reason:
        raise TradeMessageError(reason, f"symbol {str(symbol)[:40]!r}", raw)
    if not _is_long(trade_id) or trade_id < 0:
        raise TradeMessageError("bad_trade_id", f"trade id {trade_id!r}", raw)
    price, quantity, trade_time = data.get("p"), data.get("q"), data.get("T")
    reason = price_problem(price)
    if reason:
        raise _with_trade(TradeMessageError(reason, f"price {str(price)[:40]!r}", raw), symbol, trade_id)
    if not isinstance(quantity, str) or quantity_problem(quantity, price):
        raise _with_trade(TradeMessageError("bad_quantity", f"quantity {str(quantity)[:40]!r}", raw),
                          symbol, trade_id)
    if not _is_long(trade_time) or trade_time <= 0:
        raise _with_trade(TradeMessageError("bad_trade_time", f"trade time {trade_time!r}", raw), symbol, trade_id)
    return Trade(symbol, trade_id, price, quantity, trade_time)


def _is_long(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value < 2**63


def _with_trade(error: TradeMessageError, symbol: str, trade_id: int) -> TradeMessageError:
    """The id of a trade whose other fields are bad: it is not missing, so no backfill asks for it."""
    error.symbol, error.trade_id = symbol, trade_id
    return error


class _AnsweringConnection(ClientConnection):
    """The library's connection, which answers every ping with a pong of the same payload;
    this subclass only notes each ping (payload and time) and when any frame last came."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pings_answered: list[bytes] = []
        self.last_frame_at = time.monotonic()
        self.sent = SlidingWindowLimiter(SENT_PER_SECOND, 1.0)
        self.flooded = False

    def process_event(self, event: Any) -> None:
        self.last_frame_at = time.monotonic()
        if getattr(event, "opcode", None) is Opcode.PING:
            self.pings_answered.append(bytes(event.data))
            self.sent.record()  # the pong already went out with this event
            # one slot stays free for the close frame
            self.flooded = self.flooded or self.sent.count() >= SENT_PER_SECOND - 1
        super().process_event(event)


class TradeConnection:
    """One open combined-stream connection; `receive()` hands over what has arrived."""

    def __init__(self, base_url: str, symbols: Iterable[str], open_timeout: float = 10.0) -> None:
        self.symbols = tuple(symbols)
        self.url = stream_url(base_url, self.symbols)
        self.id = next(_ids)
        # entered for its connection: websockets 17 deprecates using connect()'s result directly
        self.ws = connect(self.url, open_timeout=open_timeout, ping_interval=None, ping_timeout=None, close_timeout=2,
                          max_queue=MAX_QUEUE, create_connection=_AnsweringConnection).__enter__()
        self.opened_at = time.monotonic()
        self.messages = 0

    @property
    def age(self) -> float:
        return time.monotonic() - self.opened_at

    @property
    def pings_answered(self) -> list[bytes]:
        return self.ws.pings_answered

    def receive(self, timeout: float, limit: int = 2000) -> list[Trade | TradeMessageError]:
        """Messages that arrive within `timeout` (those already waiting, without waiting more).
        Raises Disconnected once the connection has ended and every message before it was handed over."""
        items: list[Trade | TradeMessageError] = []
        wait = timeout
        while len(items) < limit:
            try:
                raw = self.ws.recv(timeout=wait, decode=False)
            except TimeoutError:
                break
            except ConnectionClosed as exc:
                if items:
                    return items  # the next call raises
                raise Disconnected(_close_detail(exc), exc.rcvd.code if exc.rcvd else None) from None
            wait = 0
            self.messages += 1
            items.append(self._parse(raw))
        self._check_alive()
        return items

    def _parse(self, raw: bytes) -> Trade | TradeMessageError:
        try:
            return parse_message(raw, self.symbols)
        except TradeMessageError as exc:
            return exc

    def _check_alive(self) -> None:
        if self.ws.flooded:
            self.close()
            raise Disconnected(f"the server pinged more than {SENT_PER_SECOND - 2} times in a second; "
                               "closed to stay within Binance's message limit")
        if time.monotonic() - self.ws.last_frame_at > IDLE_TIMEOUT:
            self.close()
            raise Disconnected(f"no frame for {IDLE_TIMEOUT:.0f}s")

    def close(self) -> None:
        try:
            self.ws.close()
        except (OSError, WebSocketException):
            pass  # already gone


def _close_detail(exc: ConnectionClosed) -> str:
    frame = exc.rcvd or exc.sent
    return f"closed with {frame.code} {frame.reason}".strip() if frame else "connection lost without a close frame"


CONNECT_ERRORS = (OSError, TimeoutError, WebSocketException)  # refused, timed out, handshake refused
