"""Binance trade frames as the WebSocket stream sends them, and the simulated exchange's report
of its stream (connections, pings)."""
from __future__ import annotations

import json

import requests

from tests.helpers.exchange import url_of

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "ADAUSDT")
GOOD = {"e": "trade", "E": 1672515782136, "s": "BTCUSDT", "t": 12345, "p": "97000.01000000",
        "q": "0.00150000", "T": 1672515782135, "m": True, "M": True}


def message(stream: str = "btcusdt@trade", **changes) -> str:
    return json.dumps({"stream": stream, "data": {**GOOD, **changes}})


def stream_report(server) -> dict:
    return requests.get(url_of(server) + "/sim/stream", timeout=5).json()
