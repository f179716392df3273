"""The faults the simulated exchange injects on demand (POST /sim/faults) and the answers they give.

{"mode": M, "count": N, ...} makes the next N ticker requests fail with M, one of: rate_limit
(429, "retry_after"), ban (418, "retry_after"), server_error ("status", default 503), slow
("delay" seconds), malformed, missing_symbols ("drop" symbols), geo_block (451); "port" limits a
fault to requests arriving on that port; "endpoint": "historicalTrades" aims it at the backfill
requests instead of the ticker (a rate limit or an outage while a gap is being repaired). Two change a symbol at once, not per request: delist
{"symbol": X} removes X (exchangeInfo, ticker requests naming it, its trade stream and
historicalTrades then answer -1121, open streams stop carrying it), and symbol_status {"symbol": X,
"status": "BREAK"} sets its status (the ticker still quotes it, as Binance does; "TRADING" also
lists a delisted symbol again). The ws_* modes act on the trade stream (stream.py).
"""
from __future__ import annotations

import json
import time
from typing import Any, NamedTuple

from cryptostream.simulator.stream import STREAM_FAULTS

SYMBOL_FAULTS = {"delist", "symbol_status"}
CLOCK_FAULTS = {"clock_offset"}  # {"seconds": S}: the exchange's clock runs S ahead (behind if < 0)
REQUEST_FAULTS = {"rate_limit", "ban", "server_error", "slow", "malformed", "missing_symbols", "geo_block"}
FAULT_MODES = REQUEST_FAULTS | STREAM_FAULTS | SYMBOL_FAULTS | CLOCK_FAULTS
SYMBOL_STATUSES = {"PRE_TRADING", "TRADING", "POST_TRADING", "END_OF_DAY", "HALT", "AUCTION_MATCH", "BREAK"}


class Answer(NamedTuple):
    status: int
    payload: bytes
    headers: dict[str, str]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, json.dumps(body).encode(), headers or {})


def fault_answer(fault: dict[str, Any]) -> Answer | None:
    """What a request fault answers instead of the ticker; None when the fault only alters or
    delays the normal answer (slow sleeps here, missing_symbols drops symbols from it)."""
    mode = fault["mode"]
    retry = {"Retry-After": str(fault.get("retry_after", 2))}
    if mode == "slow":
        time.sleep(float(fault.get("delay", 10)))
    answers = {
        "rate_limit": lambda: _json(429, {"code": -1003, "msg": "Too many requests."}, retry),
        "ban": lambda: _json(418, {"code": -1003, "msg": "Way too many requests; IP banned."}, retry),
        "server_error": lambda: _json(int(fault.get("status", 503)), {"code": -1001, "msg": "Internal error."}),
        "geo_block": lambda: _json(451, {"code": 0, "msg": "Service unavailable from a restricted location."}),
        "malformed": lambda: Answer(200, b'[{"symbol": "BTCUSDT", "price": ', {}),
    }
    return answers[mode]() if mode in answers else None
