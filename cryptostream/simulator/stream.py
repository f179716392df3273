"""The simulated exchange's WebSocket trade stream (127.0.0.1 only), Binance's combined stream:

    ws://127.0.0.1:<ws_port>/stream?streams=btcusdt@trade/ethusdt@trade

Each connection gets the tape's trades from the moment it opens. The server pings every
`ping_interval` seconds with a random payload and records whether the pong carrying that
payload came back; like Binance it closes a connection that sends more than 5 messages in a
second, and one older than its maximum age (24 h unless shortened).

Faults (POST /sim/faults on the REST port, applied at once):
  ws_disconnect            close every open connection (code 1001)
  ws_gap      "seconds"    close every connection and refuse new ones for that long (HTTP 503):
                           the trades of those seconds are only available over REST
  ws_max_age  "seconds"    close connections older than that (Binance's 24 h on a short clock)
  ws_silence  "seconds"    keep every connection open (pings go on) but send none of the trades
                           of those seconds: ids jump on a live connection, only REST has them
  ws_ping                  ping every open connection now
GET /sim/stream reports the connections (opened, closed, why) and the pings (answered or not).
A symbol delisted by the REST port's "delist" fault is refused in new stream URLs (HTTP 400,
as an unknown one is) and no longer carried by open connections.
"""
from __future__ import annotations

import itertools
import json
import queue
import secrets
import threading
import time
from http import HTTPStatus
from typing import Any, Callable, Container
from urllib.parse import parse_qs, urlparse

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from cryptostream.pipeline.binance.limiter import SlidingWindowLimiter
from cryptostream.simulator.trade_tape import TradeTape

STREAM_FAULTS = {"ws_disconnect", "ws_gap", "ws_max_age", "ws_ping", "ws_silence"}
DAY = 24 * 3600.0
CLIENT_MESSAGES_PER_SECOND = 5


class StreamLog:
    """Connections, pings and the fault state, shared by the connection threads and the REST port."""

    def __init__(self) -> None:
        self.connections: list[dict[str, Any]] = []
        self.pings: list[dict[str, Any]] = []
        self.max_age = DAY
        self.refuse_until = 0.0
        self.silent_until = 0.0  # ws_silence: trades until then are dropped on open connections
        self.dropped = 0  # trades not sent because of ws_silence
        self.disconnects = 0  # bumped by ws_disconnect / ws_gap; connections older than the bump close
        self.ping_requests = 0
        self.backfill_requests = 0  # historicalTrades requests served by the REST port
        self.lock = threading.Lock()
        self._ids = itertools.count(1)

    def apply(self, fault: dict[str, Any]) -> None:
        mode = fault["mode"]
        with self.lock:
            if mode in ("ws_disconnect", "ws_gap"):
                self.disconnects += 1
            if mode == "ws_gap":
                self.refuse_until = time.monotonic() + float(fault.get("seconds", 3))
            elif mode == "ws_silence":
                self.silent_until = time.monotonic() + float(fault.get("seconds", 3))
            elif mode == "ws_max_age":
                self.max_age = float(fault.get("seconds") or DAY)
            elif mode == "ws_ping":
                self.ping_requests += 1

    def refusing(self) -> bool:
        return time.monotonic() < self.refuse_until

    def silent(self) -> bool:
        return time.monotonic() < self.silent_until

    def opened(self, path: str, symbols: list[str]) -> dict[str, Any]:
        record = {"id": next(self._ids), "path": path, "symbols": symbols, "opened": time.time(),
                  "closed": None, "reason": None, "sent": 0, "_mono": time.monotonic(),
                  "_disconnects": self.disconnects, "_pings": self.ping_requests}
        with self.lock:
            self.connections.append(record)
        return record

    def report(self) -> dict[str, Any]:
        with self.lock:
            return {"connections": [{k: v for k, v in c.items() if not k.startswith("_")} for c in self.connections],
                    "pings": [dict(p) for p in self.pings], "max_age": self.max_age, "refusing": self.refusing(),
                    "backfill_requests": self.backfill_requests, "dropped": self.dropped}

    def pong_seen(self, ping: dict[str, Any], after: float) -> None:
        with self.lock:
            ping["pong"], ping["pong_ms"] = True, round(after * 1000, 1)


class _CountingConnection(ServerConnection):
    """Counts what the client sends (pings, pongs, messages), as Binance limits it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received = SlidingWindowLimiter(CLIENT_MESSAGES_PER_SECOND, 1.0)
        self.over_limit = False

    def process_event(self, event: Any) -> None:
        if hasattr(event, "opcode"):  # a frame, not the opening handshake
            self.over_limit = self.over_limit or self.received.wait_time() > 0
            self.received.record()
        super().process_event(event)


def requested_symbols(path: str, known: list[str]) -> list[str] | None:
    """The symbols of a /stream?streams=<symbol>@trade/... path; None when it is not one."""
    url = urlparse(path)
    streams = parse_qs(url.query).get("streams", [""])[0].split("/")
    symbols = [s[: -len("@trade")].upper() for s in streams if s.endswith("@trade")]
    if url.path != "/stream" or not symbols or len(symbols) != len(streams) or not set(symbols) <= set(known):
        return None
    return symbols


class StreamServer:
    """The WebSocket side of one simulated exchange: its tape, its log, its port."""

    def __init__(self, tape: TradeTape, log: StreamLog, port: int = 0, ping_interval: float = 20.0,
                 host: str = "127.0.0.1", listed: Callable[[], Container[str]] | None = None) -> None:
        self.tape, self.log, self.ping_interval = tape, log, ping_interval
        self.listed = listed or (lambda: self.tape.symbols)  # what the exchange lists now (delist fault)
        self.server: Server = serve(self._serve, host, port, process_request=self._check_request,
                                    ping_interval=None, create_connection=_CountingConnection)

    @property
    def port(self) -> int:
        return self.server.socket.getsockname()[1]

    def start_in_thread(self) -> threading.Thread:
        self.tape.start()
        thread = threading.Thread(target=self.server.serve_forever, name="exchange-sim-ws", daemon=True)
        thread.start()
        return thread

    def shutdown(self) -> None:
        self.server.shutdown()

    def _check_request(self, connection: ServerConnection, request: Any) -> Any:
        if self.log.refusing():
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Service unavailable, try again later.\n")
        if requested_symbols(request.path, [s for s in self.tape.symbols if s in self.listed()]) is None:
            return connection.respond(HTTPStatus.BAD_REQUEST, "Invalid request: expected /stream?streams="
                                                              "<symbol>@trade/...\n")
        return None

    def _serve(self, connection: _CountingConnection) -> None:
        symbols = requested_symbols(connection.request.path, self.tape.symbols) or []
        record = self.log.opened(connection.request.path, symbols)
        trades = self.tape.subscribe()
        try:
            self._stream(connection, record, set(symbols), trades)
        except ConnectionClosed:
            record["reason"] = record["reason"] or "closed by client"
        finally:
            self.tape.unsubscribe(trades)
            record["closed"] = time.time()

    def _stream(self, connection: _CountingConnection, record: dict[str, Any], symbols: set[str],
                trades: queue.SimpleQueue) -> None:
        next_ping, pending = time.monotonic() + self.ping_interval, []
        while not (reason := self._close_reason(connection, record)):
            if time.monotonic() >= next_ping or record["_pings"] < self.log.ping_requests:
                record["_pings"] = self.log.ping_requests
                pending.append(self._ping(connection, record))
                next_ping = time.monotonic() + self.ping_interval
            pending = [waiting for waiting in pending if not self._pong_seen(*waiting)]
            try:
                batch = trades.get(timeout=0.05)
            except queue.Empty:
                continue
            if self.log.silent():  # the connection stays up; these trades never reach it
                with self.log.lock:
                    self.log.dropped += len(batch)
                continue
            for trade in batch:
                if trade["s"] in symbols and trade["s"] in self.listed():
                    connection.send(json.dumps({"stream": f"{trade['s'].lower()}@trade", "data": trade}))
                    record["sent"] += 1
        record["reason"] = reason[1]
        connection.close(*reason)

    def _close_reason(self, connection: _CountingConnection, record: dict[str, Any]) -> tuple[int, str] | None:
        if record["_disconnects"] < self.log.disconnects:
            return 1001, "forced disconnect"
        if time.monotonic() - record["_mono"] >= self.log.max_age:
            return 1001, "maximum connection age"
        if connection.over_limit:
            return 1008, "too many messages"
        return None

    def _ping(self, connection: ServerConnection, record: dict[str, Any]) -> tuple[threading.Event, dict, float]:
        payload = secrets.token_bytes(8)
        ping = {"connection": record["id"], "payload": payload.hex(), "sent": time.time(), "pong": False}
        with self.log.lock:
            self.log.pings.append(ping)
        # the event is set only by a pong carrying exactly this payload
        return connection.ping(payload), ping, time.monotonic()

    def _pong_seen(self, event: threading.Event, ping: dict[str, Any], sent_at: float) -> bool:
        if event.is_set():
            self.log.pong_seen(ping, time.monotonic() - sent_at)
        return event.is_set()
