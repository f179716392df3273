"""The simulated exchange's HTTP routes, Binance's as a client reads them, and its /sim/ controls.

Binance: /api/v3/ping, /time, /ticker/price (single, `symbols=[...]` and all-symbols forms),
/exchangeInfo (weight 20; an unknown symbol answers 400 -1121) and /historicalTrades (weight 25,
fromId, limit up to 1000), with Binance's weights, the X-MBX-USED-WEIGHT-1M header and 429 +
Retry-After past 6000 weight a minute. Controls: POST /sim/faults (faults.py); GET /sim/requests
(the ticker requests received), /sim/symbols (each symbol's status), /sim/trades?symbol=&fromId=&limit=
(the tape), /sim/trades/bounds (first and last id kept per symbol), /sim/stream (the trade stream's log).
"""
from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from cryptostream.pipeline.binance import endpoints
from cryptostream.simulator.faults import fault_answer
from cryptostream.simulator.state import ExchangeState
from cryptostream.simulator.trade_tape import as_historical

QUOTE_ASSETS = ("USDT", "USDC", "FDUSD", "BTC", "ETH", "BNB")
INVALID_SYMBOL = {"code": -1121, "msg": "Invalid symbol."}


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
                  endpoints.TIME_PATH: lambda: self._json(200, {"serverTime": self.state.server_time_ms()},
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
        answer = fault_answer(fault) if fault else None
        if answer:
            return self._raw(*answer)
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
        fault = self.state.take_fault(self.server.server_address[1], "historicalTrades")
        answer = fault_answer(fault) if fault else None
        if answer:
            return self._raw(*answer)
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
