"""A local Binance-compatible exchange for `bin/up --simulated` and the tests (127.0.0.1 only).

Serves /api/v3/ping, /api/v3/time and /api/v3/ticker/price (single, `symbols=[...]` and
all-symbols forms) with Binance's request weights, the X-MBX-USED-WEIGHT-1M header, 429 +
Retry-After past 6000 weight a minute, and Binance's error body for unknown symbols.
Prices follow a seeded random walk (or a scripted sequence) so runs are reproducible.

It can listen on a second port, the mirror: the same exchange under another base URL, as
api1.binance.com is for api.binance.com, so the fallback after a 451 can be tested.

Faults on demand: POST /sim/faults {"mode": M, "count": N, ...} makes the next N ticker
requests fail with M, one of: rate_limit (429, "retry_after"), ban (418, "retry_after"),
server_error ("status", default 503), slow ("delay" seconds), malformed, missing_symbols
("drop" symbols), geo_block (451); "port" limits a fault to requests arriving on that port.
GET /sim/requests lists the ticker requests received (monotonic time, port, fault, status).

Symbols: GET /api/v3/exchangeInfo (weight 20; `symbol`, `symbols=[...]` or all) lists each
symbol with its status, base and quote asset, as Binance does; an unknown one in `symbol(s)`
answers 400 -1121. Two faults change a symbol at once (not per request): {"mode": "delist",
"symbol": X} removes X from the exchange (exchangeInfo, ticker requests naming it, its trade
stream and historicalTrades then answer -1121, and open streams stop carrying it), and
{"mode": "symbol_status", "symbol": X, "status": "BREAK"} sets its status (HALT, BREAK, ...;
the ticker still quotes it, as Binance does; "TRADING" also lists a delisted symbol again).
GET /sim/symbols shows every symbol's status.

Trades: the same exchange also streams every trade over WebSocket on its own port
(simulated_stream.py, with the ws_* faults) from a seeded tape (trade_tape.py), and serves them
by id at GET /api/v3/historicalTrades (weight 25, fromId, limit up to 1000), so a client can
backfill what it missed; GET /sim/trades?symbol=&fromId=&limit= lists the tape itself and
GET /sim/trades/bounds the first and last id kept per symbol.
"""
from __future__ import annotations

import argparse
import json
import random
import threading
import time
from collections import deque
from decimal import ROUND_HALF_EVEN, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from cryptostream.core import events
from cryptostream.pipeline.binance import endpoints
from cryptostream.simulator.stream import STREAM_FAULTS, StreamLog, StreamServer
from cryptostream.simulator.trade_tape import TradeTape, as_historical
from cryptostream.core.logs import configure

START_PRICES = {"BTCUSDT": "97000", "ETHUSDT": "3600", "SOLUSDT": "240", "BNBUSDT": "650",
                "ADAUSDT": "0.95", "XRPUSDT": "2.4", "DOGEUSDT": "0.38", "LTCUSDT": "105"}
EIGHT_PLACES = Decimal("0.00000001")
SYMBOL_FAULTS = {"delist", "symbol_status"}
FAULT_MODES = {"rate_limit", "ban", "server_error", "slow", "malformed", "missing_symbols", "geo_block"} \
    | STREAM_FAULTS | SYMBOL_FAULTS
SYMBOL_STATUSES = {"PRE_TRADING", "TRADING", "POST_TRADING", "END_OF_DAY", "HALT", "AUCTION_MATCH", "BREAK"}
QUOTE_ASSETS = ("USDT", "USDC", "FDUSD", "BTC", "ETH", "BNB")
INVALID_SYMBOL = {"code": -1121, "msg": "Invalid symbol."}


class PricePath:
    """Deterministic prices: each symbol walks by up to ±0.1% a step from a seeded RNG,
    or cycles through a scripted list of prices."""

    def __init__(self, seed: int, script: dict[str, list[str]] | None = None) -> None:
        self._rng = random.Random(seed)
        self._script = {s: deque(p) for s, p in (script or {}).items()}
        self._prices = {s: Decimal(p) for s, p in START_PRICES.items()}
        self._lock = threading.Lock()

    @property
    def symbols(self) -> list[str]:
        return list(self._script or self._prices)

    def next_price(self, symbol: str) -> str:
        with self._lock:
            if self._script:
                prices = self._script[symbol]
                prices.rotate(-1)
                return prices[-1]
            step = Decimal(self._rng.uniform(-0.001, 0.001)).quantize(Decimal("0.000001"))
            price = (self._prices[symbol] * (1 + step)).quantize(EIGHT_PLACES, ROUND_HALF_EVEN)
            self._prices[symbol] = price
            return f"{price:.8f}"


def start_prices(path: PricePath) -> dict[str, str]:
    """Where each symbol's trades start (scripted symbols without a known price: 1)."""
    return {symbol: START_PRICES.get(symbol, "1") for symbol in path.symbols}


class ExchangeState:
    """Weight accounting, pending faults and the request log, shared by handler threads."""

    def __init__(self, path: PricePath, tape: TradeTape | None = None) -> None:
        self.path = path
        self.tape = tape or TradeTape(0, start_prices(path))
        self.stream = StreamLog()
        self.faults: deque[dict[str, Any]] = deque()
        self.requests: list[dict[str, Any]] = []
        self.weight_minute = -1
        self.weight_used = 0
        self.lock = threading.Lock()
        self.statuses = {symbol: "TRADING" for symbol in path.symbols}  # a delisted symbol is absent

    def listed(self) -> list[str]:
        """The symbols the exchange lists now, in their usual order."""
        return [symbol for symbol in self.path.symbols if symbol in self.statuses]

    def change_symbol(self, fault: dict[str, Any]) -> None:
        """delist / symbol_status: applied at once, for every later request and stream."""
        symbol, status = fault.get("symbol"), fault.get("status")
        if symbol not in self.path.symbols:
            raise ValueError(f"unknown symbol {symbol!r}; one of {self.path.symbols}")
        if fault["mode"] == "symbol_status" and status not in SYMBOL_STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {sorted(SYMBOL_STATUSES)}")
        with self.lock:
            if fault["mode"] == "delist":
                self.statuses.pop(symbol, None)
            else:
                self.statuses[symbol] = status

    def use_weight(self, weight: int) -> int:
        with self.lock:
            minute = int(time.time() // 60)
            if minute != self.weight_minute:
                self.weight_minute, self.weight_used = minute, 0
            self.weight_used += weight
            return self.weight_used

    def add_fault(self, fault: dict[str, Any]) -> None:
        if fault.get("mode") not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {fault.get('mode')!r}; one of {sorted(FAULT_MODES)}")
        if fault["mode"] in STREAM_FAULTS:
            return self.stream.apply(fault)  # at once, not for the next ticker request
        if fault["mode"] in SYMBOL_FAULTS:
            return self.change_symbol(fault)
        with self.lock:
            self.faults.extend([fault] * int(fault.get("count", 1)))

    def take_fault(self, port: int) -> dict[str, Any] | None:
        """The first pending fault for a request on `port`, removed from the queue."""
        with self.lock:
            for fault in self.faults:
                if fault.get("port") in (None, port):
                    self.faults.remove(fault)
                    return fault
            return None


def ticker_weight(query: dict[str, list[str]]) -> int:
    return endpoints.TICKER_WEIGHT_ONE if "symbol" in query else endpoints.TICKER_WEIGHT_MANY


class Handler(BaseHTTPRequestHandler):
    server_version = "cryptostream-sim/1"
    state: ExchangeState  # set on the class made by make_server

    def log_message(self, *_: Any) -> None:  # the request log is kept in state, not on stderr
        return

    request_record: dict[str, Any] | None = None  # the ticker request being answered

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.request_record = None
        url = urlparse(self.path)
        query = parse_qs(url.query)
        routes = {endpoints.PING_PATH: lambda: self._json(200, {}, weight=endpoints.PING_WEIGHT),
                  endpoints.TIME_PATH: lambda: self._json(200, {"serverTime": int(time.time() * 1000)},
                                                          weight=endpoints.TIME_WEIGHT),
                  endpoints.TICKER_PATH: lambda: self._ticker(query),
                  endpoints.HISTORICAL_TRADES_PATH: lambda: self._historical_trades(query),
                  endpoints.EXCHANGE_INFO_PATH: lambda: self._exchange_info(query),
                  "/sim/symbols": lambda: self._json(200, dict(self.state.statuses)),
                  "/sim/requests": lambda: self._json(200, self.state.requests),
                  "/sim/trades": lambda: self._tape(query),
                  "/sim/trades/bounds": lambda: self._json(200, self.state.tape.bounds()),
                  "/sim/stream": lambda: self._json(200, self.state.stream.report())}
        routes.get(url.path, lambda: self._json(404, {"code": -1, "msg": "Not found."}))()

    def do_POST(self) -> None:  # noqa: N802
        if urlparse(self.path).path != "/sim/faults":
            return self._json(404, {"code": -1, "msg": "Not found."})
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            self.state.add_fault(body)
        except (ValueError, TypeError) as exc:
            return self._json(400, {"error": str(exc)})
        self._json(200, {"queued": len(self.state.faults)})

    def _ticker(self, query: dict[str, list[str]]) -> None:
        port = self.server.server_address[1]
        self.request_record = {"at": time.monotonic(), "wall": time.time(), "query": self.path, "port": port}
        self.state.requests.append(self.request_record)
        fault = self.state.take_fault(port)
        self.request_record["fault"] = fault["mode"] if fault else None
        if fault and self._serve_fault(fault):
            return
        symbols = self._requested_symbols(query)
        if symbols is None:
            return self._json(400, INVALID_SYMBOL, weight=ticker_weight(query))
        if fault and fault["mode"] == "missing_symbols":
            symbols = symbols[: max(0, len(symbols) - int(fault.get("drop", 1)))]
        items = [{"symbol": s, "price": self.state.path.next_price(s)} for s in symbols]
        self._json(200, items[0] if "symbol" in query else items, weight=ticker_weight(query))

    def _exchange_info(self, query: dict[str, list[str]]) -> None:
        """Binance's exchangeInfo, trimmed to what a client of this exchange reads; no filters."""
        if "symbol" in query and "symbols" in query:
            return self._json(400, {"code": -1128, "msg": "Combination of optional parameters invalid."},
                              weight=endpoints.EXCHANGE_INFO_WEIGHT)
        symbols = self._requested_symbols(query)
        if symbols is None:
            return self._json(400, INVALID_SYMBOL, weight=endpoints.EXCHANGE_INFO_WEIGHT)
        rate_limits = [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                        "limit": endpoints.WEIGHT_LIMIT_PER_MINUTE}]
        self._json(200, {"timezone": "UTC", "serverTime": int(time.time() * 1000), "rateLimits": rate_limits,
                         "exchangeFilters": [], "symbols": [self._symbol_info(s) for s in symbols]},
                   weight=endpoints.EXCHANGE_INFO_WEIGHT)

    def _symbol_info(self, symbol: str) -> dict[str, Any]:
        quote = next((q for q in QUOTE_ASSETS if symbol.endswith(q) and symbol != q), symbol[-4:])
        return {"symbol": symbol, "status": self.state.statuses.get(symbol, "BREAK"),
                "baseAsset": symbol[: -len(quote)], "baseAssetPrecision": 8, "quoteAsset": quote,
                "quotePrecision": 8, "quoteAssetPrecision": 8, "orderTypes": ["LIMIT", "MARKET"],
                "icebergAllowed": True, "ocoAllowed": True, "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False, "filters": [], "permissions": [], "permissionSets": [["SPOT"]]}

    def _historical_trades(self, query: dict[str, list[str]]) -> None:
        """Binance's old trade lookup: up to `limit` trades from `fromId` on (the newest without it)."""
        with self.state.stream.lock:
            self.state.stream.backfill_requests += 1
        symbol, limit, from_id = self._trade_query(query, default_limit=500)
        if symbol is None or symbol not in self.state.statuses:
            return self._json(400, INVALID_SYMBOL, weight=endpoints.HISTORICAL_TRADES_WEIGHT)
        if limit is None:
            return self._json(400, {"code": -1130, "msg": "Data sent for parameter 'limit' is not valid."},
                              weight=endpoints.HISTORICAL_TRADES_WEIGHT)
        trades = [as_historical(t) for t in self.state.tape.since(symbol, from_id, limit)]
        self._json(200, trades, weight=endpoints.HISTORICAL_TRADES_WEIGHT)

    def _tape(self, query: dict[str, list[str]]) -> None:
        symbol, limit, from_id = self._trade_query(query, default_limit=100_000, max_limit=1_000_000)
        if symbol is None or limit is None:
            return self._json(400, {"error": "expected symbol=<known symbol>, limit=<n>"})
        self._json(200, self.state.tape.since(symbol, from_id, limit))

    def _trade_query(self, query: dict[str, list[str]], default_limit: int,
                     max_limit: int = 1000) -> tuple[str | None, int | None, int | None]:
        """(symbol or None if unknown, limit or None if invalid, fromId or None)."""
        symbol = query.get("symbol", [""])[0]
        try:
            limit = int(query.get("limit", [default_limit])[0])
            from_id = int(query["fromId"][0]) if "fromId" in query else None
        except ValueError:
            return symbol, None, None
        known = symbol if symbol in self.state.tape.symbols else None
        return known, limit if 1 <= limit <= max_limit else None, from_id

    def _requested_symbols(self, query: dict[str, list[str]]) -> list[str] | None:
        known = self.state.listed()
        if "symbol" in query:
            wanted = [query["symbol"][0]]
        elif "symbols" in query:
            try:
                wanted = json.loads(query["symbols"][0])
            except ValueError:
                return None
        else:
            return known
        return wanted if isinstance(wanted, list) and all(s in known for s in wanted) else None

    def _serve_fault(self, fault: dict[str, Any]) -> bool:
        """Answer with the fault; False when the fault only alters a normal answer."""
        mode = fault["mode"]
        retry = {"Retry-After": str(fault.get("retry_after", 2))}
        if mode == "rate_limit":
            self._json(429, {"code": -1003, "msg": "Too many requests."}, headers=retry)
        elif mode == "ban":
            self._json(418, {"code": -1003, "msg": "Way too many requests; IP banned."}, headers=retry)
        elif mode == "server_error":
            self._json(int(fault.get("status", 503)), {"code": -1001, "msg": "Internal error."})
        elif mode == "geo_block":
            self._json(451, {"code": 0, "msg": "Service unavailable from a restricted location."})
        elif mode == "malformed":
            self._raw(200, b'[{"symbol": "BTCUSDT", "price": ')
        elif mode == "slow":
            time.sleep(float(fault.get("delay", 10)))
            return False
        else:
            return False
        return True

    def _json(self, status: int, body: Any, weight: int = 0, headers: dict[str, str] | None = None) -> None:
        extra = dict(headers or {})
        if weight:
            used = self.state.use_weight(weight)
            extra[endpoints.USED_WEIGHT_HEADER] = str(used)
            if used > endpoints.WEIGHT_LIMIT_PER_MINUTE and status == 200:
                status, body = 429, {"code": -1003, "msg": "Too much request weight used."}
                extra["Retry-After"] = str(60 - int(time.time()) % 60)
        self._raw(status, json.dumps(body).encode(), extra)

    def _raw(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        if self.request_record is not None:
            self.request_record["status"] = status
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (read timeout); nothing to answer


def make_server(port: int = 0, seed: int = 42, script: dict[str, list[str]] | None = None,
                host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A ready server (port 0 = any free port); call serve_forever(), or start_in_thread()."""
    path = PricePath(seed, script)
    handler = type("SimHandler", (Handler,), {"state": ExchangeState(path, TradeTape(seed, start_prices(path)))})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def mirror(server: ThreadingHTTPServer, port: int = 0) -> ThreadingHTTPServer:
    """A second server for the same exchange (shared prices, weight, faults, request log)."""
    other = ThreadingHTTPServer((server.server_address[0], port), server.RequestHandlerClass)
    other.daemon_threads = True
    return other


def stream(server: ThreadingHTTPServer, port: int = 0, ping_interval: float = 20.0) -> StreamServer:
    """The WebSocket trade stream of the same exchange (its tape, faults and log); started, with the tape."""
    state = server.RequestHandlerClass.state
    ws = StreamServer(state.tape, state.stream, port, ping_interval, host=server.server_address[0],
                      listed=lambda: state.statuses)
    ws.start_in_thread()
    return ws


SHUTDOWN_POLL = 0.02  # serve_forever's poll: shutdown() waits up to this long (the library's 0.5 s per stop)


def start_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, args=(SHUTDOWN_POLL,), name="exchange-sim", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    from cryptostream.core import config as config_module
    config = config_module.load()
    parser = argparse.ArgumentParser(description="Run the simulated Binance exchange on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=config.simulator.port)
    parser.add_argument("--mirror-port", type=int, default=config.simulator.mirror_port,
                        help="a second port serving the same exchange (0: none)")
    parser.add_argument("--ws-port", type=int, default=config.simulator.ws_port,
                        help="the WebSocket trade stream's port (0: none)")
    parser.add_argument("--ping-interval", type=float, default=20.0,
                        help="seconds between the stream's pings (Binance: 20)")
    parser.add_argument("--seed", type=int, default=config.simulator.seed)
    parser.add_argument("--script", help="JSON file {symbol: [prices...]} served in a loop")
    args = parser.parse_args(argv)
    log = configure("exchange-sim")
    script = json.loads(open(args.script).read()) if args.script else None
    server = make_server(args.port, args.seed, script)
    if args.mirror_port:
        start_in_thread(mirror(server, args.mirror_port))
    if args.ws_port:
        try:
            stream(server, args.ws_port, args.ping_interval)
        except OSError as exc:  # the REST exchange still serves; only the trade stream is missing
            log.error(events.WS_PORT_UNAVAILABLE, port=args.ws_port, error=str(exc))
            args.ws_port = 0
    log.info(events.LISTENING, url=f"http://127.0.0.1:{server.server_address[1]}", seed=args.seed,
             mirror_url=f"http://127.0.0.1:{args.mirror_port}" if args.mirror_port else None,
             ws_url=f"ws://127.0.0.1:{args.ws_port}" if args.ws_port else None)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0
