"""End to end with the WebSocket source: the simulated exchange's trade stream -> producer ->
Kafka -> Spark -> MySQL, all real, on 127.0.0.1 (bin/up --simulated in a temporary home).

While trades flow, the simulated exchange pings, drops the connection, refuses it for a few
seconds (a gap only REST can fill), keeps it open while skipping 3 s of trades (ids jump on a
live connection) and, like Binance at 24 h, would close connections older
than 45 s; the producer renews its connection every 30 s before that; then the producer is
killed (kill -9) and its restarted self backfills its own downtime. At the end every
simulated trade between the first and the last the producer saw is in Kafka exactly once as
far as the windows are concerned (bin/reconcile exact, no trade late), with the simulator's
own price, quantity and time, and MySQL has a vwap for every window.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable

import pytest

from cryptostream.ops.reconcile import reconcile
from tests.helpers.harness import query, wait_until_processed
from tests.helpers.stack import FAST_STACK, NativeStack, running
from tests.helpers.trade_account import (assert_every_simulated_trade_in_kafka, assert_vwap_in_every_window, fault,
                                         producer_events, sim)

pytestmark = pytest.mark.e2e
SETTINGS = {**FAST_STACK, "exchange_source": "websocket", "exchange_ws_max_connection_age": "30s"}
SERVER_MAX_AGE = 45  # seconds: the simulated exchange's shortened 24 h


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from running(NativeStack(tmp_path_factory.mktemp("websocket"), **SETTINGS))


def wait_until(what: str, check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f}s"
        time.sleep(0.5)
    return result


def streaming(stack: NativeStack) -> bool:
    """The exchange accepts connections and the newest one is open and has sent trades."""
    report = sim(stack, "/sim/stream")
    newest = report["connections"][-1] if report["connections"] else {}
    return not report["refusing"] and newest.get("closed") is None and newest.get("sent", 0) > 20


def test_the_stack_runs_the_websocket_source(stack) -> None:
    """bin/up started the producer on the trade stream; windows carry per-trade figures."""
    started = producer_events(stack, "started")
    assert started
    assert started[-1]["source"] == "websocket"
    assert started[-1]["ws_base_url"] == stack.config.simulator.ws_url
    wait_until("windows with a vwap", lambda: query(stack.config, "SELECT COUNT(*) FROM moving_averages "
                                                                  "WHERE vwap IS NOT NULL")[0][0] > 0, 60)


def test_every_trade_in_exactly_one_window_through_ping_disconnect_gap_and_renewal(stack) -> None:
    config = stack.config
    fault(stack, mode="ws_max_age", seconds=SERVER_MAX_AGE)

    fault(stack, mode="ws_ping")
    answered = wait_until("a ping answered", lambda: [p for p in sim(stack, "/sim/stream")["pings"] if p["pong"]], 15)
    assert len(answered[0]["payload"]) == 16

    disconnects = len(producer_events(stack, "ws_disconnected"))
    fault(stack, mode="ws_disconnect")
    wait_until("the producer to see the disconnect",
               lambda: len(producer_events(stack, "ws_disconnected")) > disconnects, 15)
    wait_until("a new connection", lambda: sim(stack, "/sim/stream")["connections"][-1]["closed"] is None, 15)

    backfills = len(producer_events(stack, "backfill"))
    fault(stack, mode="ws_gap", seconds=3)
    repaired = wait_until("the gap to be backfilled",
                          lambda: [e for e in producer_events(stack, "backfill")[backfills:] if e["trades"] > 0], 30)
    assert repaired[0]["requests"] >= 1
    assert repaired[0]["acknowledged"] > 0

    # the connection stays open but 3 s of trades are skipped: the ids jump on the live connection
    wait_until("trades flowing on a connection after the gap", lambda: streaming(stack), 30)
    fault(stack, mode="ws_silence", seconds=3)
    jumped = wait_until("the live jump backfilled", lambda: [e for e in producer_events(stack, "backfill")
                                                             if e["cause"] == "live" and e["trades"] > 0], 30)
    assert jumped[0]["acknowledged"] > 0
    assert sim(stack, "/sim/stream")["dropped"] > 0

    renewals = len(producer_events(stack, "ws_renewed"))
    wait_until("a connection renewal", lambda: len(producer_events(stack, "ws_renewed")) > renewals, 45)

    # kill -9 of the producer: the restarted one resumes after the last trade it published
    backfills, starts = len(producer_events(stack, "backfill")), len(producer_events(stack, "started"))
    os.killpg(int(stack.ctl("pid", "producer").strip()), 9)
    restarted = wait_until("the producer restarted", lambda: producer_events(stack, "started")[starts:], 60)
    assert set(restarted[0]["resume_from_trade_ids"]) == set(config.exchange.symbols)
    wait_until("the downtime backfilled",
               lambda: [e for e in producer_events(stack, "backfill")[backfills:] if e["trades"] > 0], 30)
    time.sleep(3)
    assert "stopped" in stack.ctl("stop", "producer")

    wait_until_processed(config, timeout=240)
    account = reconcile(config)
    assert account.exact, "\n".join(account.problems[:20])
    assert stack.run("reconcile").returncode == 0
    assert not producer_events(stack, "backfill_incomplete")
    late = query(config, "SELECT COUNT(*) FROM rejected_messages WHERE reason = 'late'")[0][0]
    assert late == 0, "a trade arrived after its window was closed"
    assert_every_simulated_trade_in_kafka(stack)
    reasons = [c["reason"] for c in sim(stack, "/sim/stream")["connections"]]
    assert "forced disconnect" in reasons
    assert "maximum connection age" not in reasons  # renewed before


def test_a_gap_left_open_fails_the_account(stack) -> None:
    """Trades skipped while the exchange also fails every backfill request: the producer gives the
    gap up (backfill_incomplete, at error level) and bin/reconcile FAILs naming the missing ids,
    although every message in Kafka is in MySQL (exchange -> Kafka is in the account)."""
    backfills, starts = len(producer_events(stack, "backfill")), len(producer_events(stack, "started"))
    stack.ctl("start", "producer")  # stopped by the test above
    wait_until("the producer restarted", lambda: producer_events(stack, "started")[starts:], 60)
    wait_until("its downtime backfilled",
               lambda: [e for e in producer_events(stack, "backfill")[backfills:] if e["trades"] > 0], 30)
    wait_until("trades flowing", lambda: streaming(stack), 30)
    fault(stack, mode="server_error", endpoint="historicalTrades", count=5)  # the backfill's 5 tries
    fault(stack, mode="ws_silence", seconds=2)
    given_up = wait_until("the gap given up", lambda: producer_events(stack, "backfill_incomplete"), 60)
    assert given_up[0]["level"] == "error"
    time.sleep(3)  # trades after the gap, so it lies between two ids in Kafka
    assert "stopped" in stack.ctl("stop", "producer")
    wait_until_processed(stack.config, timeout=240)
    account = reconcile(stack.config)
    missing = [p for p in account.problems if "missing in Kafka" in p]
    assert missing, account.problems[:5]
    assert len(missing) == len(account.problems), "only the upstream gap is wrong"
    result = stack.run("reconcile")
    assert result.returncode == 2
    assert "missing in Kafka" in result.stdout


def test_vwap_in_mysql_for_every_window(stack) -> None:
    """Every window of trades has its volume, notional and vwap, and the vwap lies between the
    window's lowest and highest price."""
    assert_vwap_in_every_window(stack.config)
