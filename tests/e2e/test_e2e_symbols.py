"""Unknown and delisted symbols on the running native stack, in two timings: one symbol the
exchange never listed is configured from the start, and a listed one is delisted (the
simulated exchange's "delist" fault) while prices flow. The other symbols keep landing rows in
MySQL, the producer logs each symbol once with its status, the metrics count it, bin/status
and bin/daily-check name it, and bin/reconcile stays exact. Both sources: REST (the -1121 of
the next ticker request finds the delisting) and WebSocket (the delisted symbol's stream goes
silent, as on Binance; the periodic check, every 3 s here, finds it)."""
from __future__ import annotations

import json
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from cryptostream.ops.reconcile import read_messages, reconcile
from cryptostream.core.polling import wait_for
from cryptostream.ops.stack.native import symbols_with_rows
from cryptostream.pipeline.processor.windows import utc
from tests.helpers.harness import query, wait_until_processed
from tests.helpers.stack import FAST_STACK, NativeStack, running

pytestmark = [pytest.mark.e2e, pytest.mark.fault]
LISTED = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "ADAUSDT")
UNLISTED = "NOPEUSDT"  # not on the simulated exchange
DELISTED = "ADAUSDT"
SETTINGS = {**FAST_STACK, "exchange_symbols": ",".join(LISTED[:2] + (UNLISTED,) + LISTED[2:])}


class StackWithUnknownSymbol(NativeStack):
    """bin/up waits for rows of every configured symbol, which an unknown one never gets: start
    without that wait, then wait for the listed symbols' rows."""

    def start(self) -> None:
        started = self.run("up", "--simulated", "--wait-rows", "0", timeout=900)
        assert started.returncode == 0, f"bin/up failed:\n{started.stdout}\n{started.stderr}"
        wait_for("rows of every listed symbol", lambda: symbols_with_rows(self.config) >= set(LISTED), 240, 2)


@pytest.fixture(scope="module", params=["rest", "websocket"])
def stack(request, tmp_path_factory):
    settings = {**SETTINGS, "exchange_source": request.param}
    if request.param == "websocket":
        settings["exchange_symbol_check_interval"] = "3s"
    yield from running(StackWithUnknownSymbol(tmp_path_factory.mktemp(f"symbols-{request.param}"), **settings))


def producer_events(stack, name: str) -> list[dict]:
    return [e for e in map(json.loads, (line for line in stack.log("producer").splitlines() if line.startswith("{")))
            if e.get("event") == name]


def metric_value(stack, name: str, **labels: str) -> float | None:
    """One sample of the producer's /metrics, by name and exact labels; None when absent."""
    text = requests.get(f"http://127.0.0.1:{stack.config.metrics.producer_port}/metrics", timeout=5).text
    return next((s.value for family in text_string_to_metric_families(text) for s in family.samples
                 if s.name == name and s.labels == labels), None)


def symbols_row(stack, command: str) -> dict:
    result = stack.run(command, "--json")
    rows = [r for r in json.loads(result.stdout)["results"] if (r["component"], r["check"]) == ("producer", "symbols")]
    assert len(rows) == 1, result.stdout + result.stderr
    return rows[0]


def ticker_answers(stack) -> list[int]:
    log = requests.get(f"http://127.0.0.1:{stack.config.simulator.port}/sim/requests", timeout=5).json()
    return [r["status"] for r in log]


def stream_connections(stack) -> list[dict]:
    """The simulated trade stream's connections (symbols, opened, closed); none on the REST source."""
    return requests.get(f"http://127.0.0.1:{stack.config.simulator.port}/sim/stream", timeout=5).json()["connections"]


def test_unknown_symbol_from_the_start_is_left_out_and_the_others_flow(stack) -> None:
    excluded = producer_events(stack, "symbol_excluded")
    assert [(e["symbol"], e["status"], e["level"]) for e in excluded] == [(UNLISTED, "UNKNOWN", "warning")]
    assert 400 not in ticker_answers(stack)  # found by the check before the first ticker request
    if stack.config.exchange.source == "websocket":
        assert stream_connections(stack)
        assert all(UNLISTED not in c["symbols"] for c in stream_connections(stack))
    assert metric_value(stack, "cryptostream_symbol_excluded", symbol=UNLISTED) == 1
    assert metric_value(stack, "cryptostream_symbol_exclusions_total", symbol=UNLISTED, status="UNKNOWN") == 1
    assert metric_value(stack, "cryptostream_symbol_excluded", symbol="BTCUSDT") == 0
    for command in ("status", "daily-check"):
        row = symbols_row(stack, command)
        assert row["status"] == "WARN" and row["value"] == {UNLISTED: "UNKNOWN"}, (command, row)
        assert f"{UNLISTED} UNKNOWN" in row["detail"]
        assert "5 flowing" in row["detail"]


def test_symbol_delisted_while_running_is_left_out_at_once_and_the_others_flow(stack) -> None:
    delisted_ms = int(time.time() * 1000)
    fault = {"mode": "delist", "symbol": DELISTED}
    assert requests.post(f"http://127.0.0.1:{stack.config.simulator.port}/sim/faults", json=fault,
                         timeout=5).status_code == 200
    wait_for("the delisted symbol left out", lambda: producer_events(stack, "symbol_excluded")[1:], 30, 0.5)
    found_ms = int(time.time() * 1000)
    time.sleep(12)  # two windows and more after it
    assert "RUNNING" in stack.ctl("status", "producer")
    excluded = producer_events(stack, "symbol_excluded")
    assert [(e["symbol"], e["status"]) for e in excluded] == [(UNLISTED, "UNKNOWN"), (DELISTED, "UNKNOWN")]
    assert ticker_answers(stack).count(400) <= 2  # the -1121 led to the check, not to a backoff loop
    if stack.config.exchange.source == "websocket":  # renewed without it
        streaming = [c for c in stream_connections(stack) if c["closed"] is None]
        assert streaming and all(DELISTED not in c["symbols"] for c in streaming), streaming
    assert metric_value(stack, "cryptostream_symbol_excluded", symbol=DELISTED) == 1
    assert metric_value(stack, "cryptostream_symbol_exclusions_total", symbol=DELISTED, status="UNKNOWN") == 1
    for command in ("status", "daily-check"):
        row = symbols_row(stack, command)
        assert row["status"] == "WARN" and row["value"] == {UNLISTED: "UNKNOWN", DELISTED: "UNKNOWN"}, (command, row)
        assert f"{DELISTED} UNKNOWN" in row["detail"]
        assert "4 flowing" in row["detail"]

    assert "stopped" in stack.ctl("stop", "producer")
    wait_until_processed(stack.config, timeout=240)
    later = {row[0] for row in query(stack.config, "SELECT DISTINCT symbol FROM moving_averages WHERE start_time >= %s",
                                     (utc(found_ms + 1000),))}
    assert later == set(LISTED) - {DELISTED}  # the others kept landing rows after the delisting
    newest = {}
    for message in read_messages(stack.config):
        symbol = message.body["symbol"]
        newest[symbol] = max(newest.get(symbol, 0), message.body["event_time"])
    assert UNLISTED not in newest
    assert newest[DELISTED] < found_ms
    assert min(newest[s] for s in LISTED if s != DELISTED) > delisted_ms + 10_000
    account = reconcile(stack.config)
    assert account.exact, "\n".join(account.problems[:20])
    assert stack.run("reconcile").returncode == 0
