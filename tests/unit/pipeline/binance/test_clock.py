"""Our clock against the exchange's (GET /api/v3/time), against the simulated exchange over
real HTTP on 127.0.0.1: measured, exported, warned about past the threshold."""
from __future__ import annotations

import time

import pytest
from structlog.testing import capture_logs

from cryptostream.core import metrics
from cryptostream.core.config import load
from cryptostream.pipeline.binance.clock import ClockWatch
from cryptostream.pipeline.stats.names import CLOCK_OFFSET
from tests.helpers.exchange import add_fault, client_for, url_of


class Observed:
    """The statistics the watch writes, kept here."""

    def __init__(self) -> None:
        self.values: list[tuple[str, float]] = []

    def observe(self, metric: str, value: float) -> None:
        self.values.append((metric, value))


def watch() -> tuple[ClockWatch, Observed]:
    stats = Observed()
    return ClockWatch(load(env={}), stats), stats


@pytest.mark.parametrize("ahead", [2.5, -1.5])
def test_an_exchange_clock_ahead_or_behind_is_measured_and_warned_about(exchange, ahead: float) -> None:
    add_fault(exchange, mode="clock_offset", seconds=ahead)
    clock_watch, stats = watch()
    with capture_logs() as logs:
        offset = clock_watch.check(client_for(url_of(exchange)), time.time)
    assert offset.seconds == pytest.approx(ahead, abs=0.1)
    assert offset.round_trip < 1
    assert metrics.CLOCK_OFFSET._value.get() == offset.seconds
    assert stats.values == [(CLOCK_OFFSET, abs(offset.seconds))]
    assert logs[-1]["event"] == "clock_offset"
    assert logs[-1]["log_level"] == "warning"  # past checks.clock_offset_warn (500 ms)


def test_a_clock_in_step_is_logged_as_information(exchange) -> None:
    clock_watch, _ = watch()
    with capture_logs() as logs:
        offset = clock_watch.check(client_for(url_of(exchange)), time.time)
    assert abs(offset.seconds) < 0.1
    assert logs[-1]["log_level"] == "info"
    assert not clock_watch.due()  # next one after exchange.clock_check_interval


def test_a_failed_measurement_is_a_warning_and_no_figure() -> None:
    clock_watch, stats = watch()
    with capture_logs() as logs:
        assert clock_watch.check(client_for("http://127.0.0.1:9"), time.time) is None
    assert logs[-1]["event"] == "clock_check_failed"
    assert logs[-1]["log_level"] == "warning"
    assert stats.values == []
