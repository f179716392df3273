"""The simulated exchange as the tests reach it: its URL, its fault switch, a client for it."""
from __future__ import annotations

import requests

from cryptostream.core.config import load
from cryptostream.pipeline.binance.client import BinanceClient
from cryptostream.simulator import server as simulator


def url_of(server: simulator.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def client_for(*urls: str, read_timeout: str = "2s") -> BinanceClient:
    config = load(env={"CRYPTOSTREAM_EXCHANGE_BASE_URLS": ",".join(urls),
                       "CRYPTOSTREAM_EXCHANGE_READ_TIMEOUT": read_timeout,
                       "CRYPTOSTREAM_EXCHANGE_CONNECT_TIMEOUT": "1s"})
    return BinanceClient(config.exchange)


def add_fault(server, **fault) -> None:
    requests.post(url_of(server) + "/sim/faults", json=fault, timeout=5).raise_for_status()
