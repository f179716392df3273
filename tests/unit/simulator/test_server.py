"""The simulated exchange speaks Binance's REST dialect."""
from __future__ import annotations

import json

import requests

from cryptostream.simulator.prices import PricePath
from cryptostream.simulator.server import mirror, start_in_thread
from tests.helpers.exchange import url_of


def test_endpoints_weights_and_errors(exchange) -> None:
    """ping, time, both ticker forms with their weights, and Binance's unknown-symbol error."""
    base = url_of(exchange)
    assert requests.get(base + "/api/v3/ping", timeout=5).json() == {}
    assert requests.get(base + "/api/v3/time", timeout=5).json()["serverTime"] > 0
    single = requests.get(base + "/api/v3/ticker/price", params={"symbol": "BTCUSDT"}, timeout=5)
    assert single.json()["symbol"] == "BTCUSDT"
    batch = requests.get(base + "/api/v3/ticker/price", params={"symbols": '["ETHUSDT","ADAUSDT"]'}, timeout=5)
    assert [i["symbol"] for i in batch.json()] == ["ETHUSDT", "ADAUSDT"]
    assert int(batch.headers["X-MBX-USED-WEIGHT-1M"]) - int(single.headers["X-MBX-USED-WEIGHT-1M"]) == 4
    bad = requests.get(base + "/api/v3/ticker/price", params={"symbol": "NOPE"}, timeout=5)
    assert bad.status_code == 400
    assert bad.json() == {"code": -1121, "msg": "Invalid symbol."}


def test_price_path_is_deterministic_per_seed() -> None:
    """The same seed gives the same prices; another seed does not."""
    def walk(seed: int) -> list[str]:
        path = PricePath(seed)
        return [path.next_price("BTCUSDT") for _ in range(20)]
    assert walk(3) == walk(3)
    assert walk(3) != walk(4)


def test_scripted_prices_cycle() -> None:
    """A script is served in order, then again from the start."""
    path = PricePath(0, {"BTCUSDT": ["1.5", "2.5"]})
    assert [path.next_price("BTCUSDT") for _ in range(3)] == ["1.5", "2.5", "1.5"]


def test_unknown_fault_mode_is_refused(exchange) -> None:
    """A typo in a fault request is a 400, not silently ignored."""
    response = requests.post(url_of(exchange) + "/sim/faults", data=json.dumps({"mode": "explode"}), timeout=5)
    assert response.status_code == 400
    assert "explode" in response.json()["error"]


def test_mirror_shares_the_exchange_and_faults_can_target_one_port(exchange) -> None:
    """The mirror port serves the same exchange; a fault with "port" hits only that port, and
    the request log says which port answered what."""
    other = mirror(exchange)
    start_in_thread(other)
    try:
        base, fallback = url_of(exchange), f"http://127.0.0.1:{other.server_address[1]}"
        fault = {"mode": "geo_block", "port": exchange.server_address[1], "count": 1}
        assert requests.post(fallback + "/sim/faults", data=json.dumps(fault), timeout=5).status_code == 200
        assert requests.get(fallback + "/api/v3/ticker/price", timeout=5).status_code == 200
        assert requests.get(base + "/api/v3/ticker/price", timeout=5).status_code == 451
        assert requests.get(base + "/api/v3/ticker/price", timeout=5).status_code == 200
        log = requests.get(base + "/sim/requests", timeout=5).json()[-3:]
        assert [(r["port"], r["status"]) for r in log] == [(other.server_address[1], 200),
                                                            (exchange.server_address[1], 451),
                                                            (exchange.server_address[1], 200)]
    finally:
        other.shutdown()
        other.server_close()
