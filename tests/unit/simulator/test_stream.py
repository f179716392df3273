"""The simulated exchange's trades: the seeded tape, the WebSocket stream with its faults, and
GET /api/v3/historicalTrades, over real WebSocket and HTTP on 127.0.0.1."""
from __future__ import annotations

import json
import time
from typing import Iterator

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from cryptostream.simulator import server as simulator
from cryptostream.simulator.trade_tape import TradeTape
from tests.helpers.exchange import url_of
from tests.helpers.waiting import wait_until


@pytest.fixture
def sim() -> Iterator[tuple]:
    server = simulator.make_server(port=0, seed=7)
    simulator.start_in_thread(server)
    ws = simulator.stream(server, 0, ping_interval=0.5)
    yield url_of(server), f"ws://127.0.0.1:{ws.port}"
    ws.shutdown()
    server.shutdown()
    server.server_close()


def fault(base: str, **body) -> None:
    requests.post(base + "/sim/faults", json=body, timeout=5).raise_for_status()


def test_the_tape_is_seeded_with_consecutive_ids_and_same_millisecond_twins() -> None:
    def run(seed: int) -> list[tuple]:
        now = [1_700_000_000.0]
        tape = TradeTape(seed, {"BTCUSDT": "97000", "ADAUSDT": "0.95"}, clock=lambda: now[0])
        trades = []
        for _ in range(200):
            now[0] += 0.1
            trades += tape.tick()
        return [(t["s"], t["t"], t["p"], t["q"], t["T"]) for t in trades]
    first = run(3)
    assert first == run(3)
    assert first != run(4)
    btc = [t for t in first if t[0] == "BTCUSDT"]
    assert [t[1] for t in btc] == list(range(btc[0][1], btc[0][1] + len(btc)))
    assert any(a[4] == b[4] for a, b in zip(btc, btc[1:]))  # two trades in one millisecond
    assert 40 <= len(btc) <= 160  # about 5 a second over 20 s


def test_historical_trades_by_id_with_binance_weight_and_errors(sim) -> None:
    base, _ = sim
    first, last = wait_until(lambda: two_trades(base, "ETHUSDT"), "2 ETHUSDT trades on the tape")
    page = requests.get(base + "/api/v3/historicalTrades", params={"symbol": "ETHUSDT", "fromId": first, "limit": 2},
                        timeout=5)
    assert [t["id"] for t in page.json()] == [first, first + 1]
    assert set(page.json()[0]) == {"id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isBestMatch"}
    newest = requests.get(base + "/api/v3/historicalTrades", params={"symbol": "ETHUSDT", "limit": 1}, timeout=5)
    assert newest.json()[0]["id"] >= last
    assert int(newest.headers["X-MBX-USED-WEIGHT-1M"]) - int(page.headers["X-MBX-USED-WEIGHT-1M"]) == 25
    bad = requests.get(base + "/api/v3/historicalTrades", params={"symbol": "NOPE"}, timeout=5)
    assert bad.status_code == 400
    assert bad.json()["code"] == -1121
    too_many = requests.get(base + "/api/v3/historicalTrades", params={"symbol": "ETHUSDT", "limit": 1001}, timeout=5)
    assert too_many.status_code == 400
    assert too_many.json()["code"] == -1130


def two_trades(base: str, symbol: str) -> list[int]:
    """The tape's first and last id of `symbol` once it has two trades; [] before."""
    bounds = requests.get(base + "/sim/trades/bounds", timeout=5).json().get(symbol)
    return bounds if bounds and bounds[1] > bounds[0] else []


def test_stream_sends_only_the_requested_symbols_in_the_combined_format(sim) -> None:
    _, ws_url = sim
    with connect(ws_url + "/stream?streams=solusdt@trade") as ws:
        messages = [json.loads(ws.recv(timeout=3)) for _ in range(3)]
    assert {m["stream"] for m in messages} == {"solusdt@trade"}
    assert {m["data"]["s"] for m in messages} == {"SOLUSDT"}
    with pytest.raises(InvalidStatus) as refused:
        with connect(ws_url + "/stream?streams=nopeusdt@trade"):
            pass
    assert refused.value.response.status_code == 400


def test_gap_refuses_connections_for_its_seconds_while_trades_go_on(sim) -> None:
    base, ws_url = sim
    with connect(ws_url + "/stream?streams=btcusdt@trade") as ws:
        ws.recv(timeout=3)
        before = requests.get(base + "/sim/trades/bounds", timeout=5).json()["BTCUSDT"][1]
        fault(base, mode="ws_gap", seconds=1.5)
        with pytest.raises(ConnectionClosed):
            while True:
                ws.recv(timeout=3)
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url + "/stream?streams=btcusdt@trade").__enter__()
    assert refused.value.response.status_code == 503
    wait_until(lambda: not requests.get(base + "/sim/stream", timeout=5).json()["refusing"], "the gap's end")
    with connect(ws_url + "/stream?streams=btcusdt@trade") as ws:
        assert json.loads(ws.recv(timeout=3))["data"]["t"] > before + 1  # the gap's trades: only over REST


def test_connections_older_than_the_maximum_age_are_closed(sim) -> None:
    base, ws_url = sim
    fault(base, mode="ws_max_age", seconds=0.3)
    with connect(ws_url + "/stream?streams=btcusdt@trade") as ws:
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=3)
    lived = time.monotonic() - started
    assert 0.25 <= lived < 1.5, f"closed after {lived:.2f}s, expected at its 0.3 s age"
    assert closed.value.rcvd.reason == "maximum connection age"


def test_a_client_sending_more_than_5_messages_a_second_is_dropped(sim) -> None:
    base, ws_url = sim
    with connect(ws_url + "/stream?streams=btcusdt@trade", ping_interval=None) as ws:
        for n in range(7):
            ws.pong(str(n))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=3)
    assert closed.value.rcvd.code == 1008
    assert "too many messages" in [c["reason"] for c in requests.get(base + "/sim/stream", timeout=5).json()["connections"]]


def test_pings_on_demand_are_recorded_with_their_pong(sim) -> None:
    base, ws_url = sim
    with connect(ws_url + "/stream?streams=btcusdt@trade", ping_interval=None) as ws:
        fault(base, mode="ws_ping")
        deadline = time.monotonic() + 3
        while not (pings := requests.get(base + "/sim/stream", timeout=5).json()["pings"]) or not pings[0]["pong"]:
            ws.recv(timeout=1)  # keep reading; the library answers pings as frames arrive
            assert time.monotonic() < deadline
    assert len(pings[0]["payload"]) == 16
    assert pings[0]["pong_ms"] >= 0
