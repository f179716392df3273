"""The WebSocket source on the container stack: `bin/up --docker --simulated --source websocket`
switches the running stack to the simulated exchange's trade stream (compose recreates the app
with it). Through a forced disconnect and a gap only REST can fill, every simulated trade
between the first and the last the producer saw is in Kafka with the tape's figures, the
account is exact, and every window of trades has its vwap."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cryptostream.ops.reconcile import reconcile
from tests.helpers.harness import query, wait_until_processed
from tests.helpers.trade_account import (assert_every_simulated_trade_in_kafka, assert_vwap_in_every_window, fault,
                                         first_trade_time, producer_events, sim)
from tests.helpers.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.container]


@pytest.fixture(scope="module")
def websocket_stack(compose_stack):
    """The session's container stack, switched to the WebSocket source; (stack, UTC time of the switch)."""
    switched = datetime.now(timezone.utc).replace(tzinfo=None)
    compose_stack.start(source="websocket")
    yield compose_stack, switched


def started_on_websocket(stack) -> bool:
    started = producer_events(stack, "started")
    return bool(started) and started[-1]["source"] == "websocket"


def test_the_app_runs_the_websocket_source(websocket_stack) -> None:
    """The recreated app's producer reads the simulated exchange's trade stream."""
    stack, _switched = websocket_stack
    wait_until(lambda: started_on_websocket(stack), "the producer on the trade stream", 180, 1)
    assert producer_events(stack, "started")[-1]["ws_base_url"] == stack.config.simulator.ws_url


def test_every_trade_accounted_for_through_a_disconnect_and_a_gap(websocket_stack) -> None:
    """A forced disconnect and a 3 s refusal (backfilled over REST) lose no trade: every trade id
    is in Kafka once with the tape's figures, none is late, and bin/reconcile's account is exact."""
    stack, switched = websocket_stack
    wait_until(lambda: started_on_websocket(stack), "the producer on the trade stream", 180, 1)
    disconnects = len(producer_events(stack, "ws_disconnected"))
    fault(stack, mode="ws_disconnect")
    wait_until(lambda: len(producer_events(stack, "ws_disconnected")) > disconnects, "the disconnect seen", 30, 0.5)
    backfills = len(producer_events(stack, "backfill"))
    fault(stack, mode="ws_gap", seconds=3)
    wait_until(lambda: [e for e in producer_events(stack, "backfill")[backfills:] if e["trades"] > 0],
               "the gap backfilled", 60, 0.5)
    wait_until(lambda: query(stack.config, "SELECT COUNT(*) FROM moving_averages WHERE vwap IS NOT NULL "
                                           "AND start_time >= %s", (switched,))[0][0] >= 5 * 12,
               "twelve windows of trades per symbol", 240, 2)
    assert "stopped" in stack.ctl("stop", "producer")

    wait_until_processed(stack.config, timeout=240)
    account = reconcile(stack.config)
    assert account.exact, "\n".join(account.problems[:20])
    assert not producer_events(stack, "backfill_incomplete")
    late = query(stack.config, "SELECT COUNT(*) FROM rejected_messages WHERE reason = 'late'")[0][0]
    assert late == 0, "a trade arrived after its window was closed"
    assert_every_simulated_trade_in_kafka(stack)
    assert "forced disconnect" in [c["reason"] for c in sim(stack, "/sim/stream")["connections"]]


def test_vwap_in_every_window_of_trades(websocket_stack) -> None:
    """Every window after the first trade's (that one may mix in REST prices) has volume and vwap."""
    stack, _switched = websocket_stack
    window = stack.config.processor.window
    first = first_trade_time(stack.config)
    first_window = first - timedelta(seconds=first.replace(tzinfo=timezone.utc).timestamp() % window)
    assert_vwap_in_every_window(stack.config, since=first_window + timedelta(seconds=window))
