"""Our clock against the exchange's. The REST source stamps each price with its receipt time
(the ticker has no time of its own), so an offset between this machine's clock and the
exchange's moves prices between windows near their edges: measured every
exchange.clock_check_interval with GET /api/v3/time (weight 1), exported, logged, and warned
about past checks.clock_offset_warn (bin/daily-check)."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Callable

import structlog

from cryptostream.core import events, metrics
from cryptostream.core.config import Config
from cryptostream.pipeline.binance.client import ExchangeError, RestApi
from cryptostream.pipeline.binance.endpoints import TIME_PATH
from cryptostream.pipeline.stats import RunStats
from cryptostream.pipeline.stats.names import CLOCK_OFFSET

log = structlog.get_logger("producer")


@dataclass(frozen=True)
class Offset:
    seconds: float  # the exchange's clock minus ours: positive when theirs is ahead
    round_trip: float  # the request's round trip: the measurement is good to half of it


def measure(api: RestApi, clock: Callable[[], float]) -> Offset:
    """serverTime against the midpoint of the request on our clock (NTP's simplest estimate)."""
    sent = clock()
    answer = api.get(TIME_PATH, {})
    received = answer.received_ms / 1000
    server = json.loads(answer.text)["serverTime"] / 1000
    return Offset(server - (sent + received) / 2, received - sent)


class ClockWatch:
    """Measures the offset when due; a failed measurement is logged and tried again next time."""

    def __init__(self, config: Config, stats: RunStats, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.interval = config.exchange.clock_check_interval
        self.warn_above = config.checks.clock_offset_warn
        self.stats, self.monotonic = stats, monotonic
        self.next_check = 0.0  # at once: the first poll knows where it stands

    def due(self) -> bool:
        return self.monotonic() >= self.next_check

    def check(self, api: RestApi, clock: Callable[[], float]) -> Offset | None:
        self.next_check = self.monotonic() + self.interval
        try:
            offset = measure(api, clock)
        except (ExchangeError, ValueError, KeyError, TypeError) as exc:
            log.warning(events.CLOCK_CHECK_FAILED, error=type(exc).__name__, detail=str(exc)[:200],
                        retry_in_s=self.interval)
            return None
        metrics.CLOCK_OFFSET.set(offset.seconds)
        self.stats.observe(CLOCK_OFFSET, abs(offset.seconds))
        fields = {"offset_ms": round(offset.seconds * 1000, 1), "round_trip_ms": round(offset.round_trip * 1000, 1)}
        if abs(offset.seconds) > self.warn_above:
            log.warning(events.CLOCK_OFFSET, **fields, warn_above_ms=round(self.warn_above * 1000),
                        meaning="prices near a window's edge land in the neighbouring window; sync this "
                                "machine's clock (NTP)")
        else:
            log.info(events.CLOCK_OFFSET, **fields)
        return offset
