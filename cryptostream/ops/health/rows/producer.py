"""Runbook 3.3's producer rows: exchange API (or WebSocket stream) health from the per-minute
statistics, symbols from the producer's log, publishing from Kafka."""
from __future__ import annotations

from datetime import datetime, timezone

from cryptostream.core import events
from cryptostream.core.config import ChecksConfig
from cryptostream.ops import programs
from cryptostream.ops.checks import Result, fail, ok, warn
from cryptostream.ops.health.facts import Facts
from cryptostream.ops.health.probes.log_events import newest_event, time_of
from cryptostream.ops.health.probes.pipeline_stats import StatsRange, last_hours
from cryptostream.pipeline import topic
from cryptostream.pipeline.stats.names import (API_ERRORS, API_LATENCY, API_RATE_LIMITED, CLOCK_OFFSET, PRODUCER,
                                               stream_counter)


API_METRICS = (API_LATENCY, API_ERRORS, API_RATE_LIMITED)
STREAM_METRICS = tuple(stream_counter(name) for name in ("reports", "disconnects", "connect_failures", "missed"))


def api_health(facts: Facts) -> Result:
    """Exchange requests of the last 24 h, from the producer's per-minute statistics."""
    if facts.config.exchange.source == "websocket":
        return stream_health(last_hours(facts.config, 24, STREAM_METRICS), facts.limits)
    return request_health(last_hours(facts.config, 24, API_METRICS), facts.limits)


def request_health(stats: StatsRange, limits: ChecksConfig) -> Result:
    """The REST source: failure rate of the exchange requests, and no 429/418."""
    answered, failed, limited = (stats.count(PRODUCER, metric) for metric in API_METRICS)
    requests = answered + failed + limited
    if not requests:
        return warn("producer", "api", "no exchange requests recorded in 24 h (pipeline_stats; the producer "
                                       "writes them every stats.write_interval)")
    rate = (limited + failed) / requests
    detail = f"{requests} requests, {failed} failed, {limited} rate-limited (429/418) in 24 h"
    if rate >= limits.api_failure_rate_fail:
        return fail("producer", "api", f"{detail}: failure rate {rate:.0%}", rate)
    if limited or rate >= limits.api_failure_rate_warn:
        return warn("producer", "api", f"{detail}: failure rate {rate:.0%}", rate)
    return ok("producer", "api", detail, rate)


def stream_health(stats: StatsRange, limits: ChecksConfig) -> Result:
    """The WebSocket source: connected and streaming, gaps refilled, few reconnects."""
    reports, disconnects, failed, missed = (stats.count(PRODUCER, metric) for metric in STREAM_METRICS)
    detail = (f"{reports} stream reports, {disconnects} disconnects, {failed} failed connects, "
              f"{missed} trade ids not refilled in 24 h")
    if not reports:
        return warn("producer", "api", "no WebSocket stream reports recorded in 24 h (pipeline_stats; the "
                                       "producer writes them every stats.write_interval)")
    if missed:
        return fail("producer", "api", f"{detail}: trades missing (see backfill_incomplete in bin/logs producer)",
                    missed)
    if failed or disconnects > limits.restarts_warn:
        return warn("producer", "api", detail, disconnects)
    return ok("producer", "api", detail, disconnects)


def clock(facts: Facts) -> Result:
    """The REST source stamps prices with this machine's clock: its largest offset to the
    exchange's in 24 h (the producer measures it every exchange.clock_check_interval)."""
    if facts.config.exchange.source == "websocket":
        return ok("producer", "clock", "trades carry the exchange's own time")
    return clock_health(last_hours(facts.config, 24, (CLOCK_OFFSET,)), facts.limits)


def clock_health(stats: StatsRange, limits: ChecksConfig) -> Result:
    figure = stats.figure(PRODUCER, CLOCK_OFFSET)
    if not figure.samples:
        return warn("producer", "clock", "no clock measurement recorded in 24 h (pipeline_stats; the producer "
                                         "asks the exchange's time every exchange.clock_check_interval)")
    largest = figure.high / 1_000_000
    detail = f"largest offset to the exchange's clock in 24 h: {largest * 1000:.0f} ms ({figure.samples} measurements)"
    if largest > limits.clock_offset_warn:
        return warn("producer", "clock", f"{detail}, above {limits.clock_offset_warn * 1000:.0f} ms: prices near a "
                                         f"window's edge land in the next one; sync this machine's clock (NTP)",
                    largest)
    return ok("producer", "clock", detail, largest)


def symbols(facts: Facts) -> Result:
    """The producer's newest exchangeInfo check: which configured symbols it leaves out and why."""
    hours = max(1.0, 3 * facts.config.exchange.symbol_check_interval / 3600)
    event = newest_event(facts.deployment, programs.PRODUCER, events.SYMBOL_CHECK, hours)
    if event is None:
        return warn("producer", "symbols", f"no symbol check logged in {hours:g} h (the producer checks "
                                           "exchangeInfo at start and every exchange.symbol_check_interval)")
    excluded, active = event.get("excluded") or {}, event.get("active") or []
    configured = len(event.get("configured") or []) or len(excluded) + len(active)
    checked = f"checked {_age(event)} ago"
    if not excluded:
        return ok("producer", "symbols", f"all {configured} configured symbols TRADING ({checked})", {})
    left_out = ", ".join(f"{symbol} {status}" for symbol, status in excluded.items())
    detail = (f"{len(excluded)} of {configured} configured symbols left out: {left_out}; "
              f"{len(active)} flowing ({checked}; docs/RUNBOOK.md section 8)")
    return (fail if not active else warn)("producer", "symbols", detail, excluded)


def publishing(facts: Facts) -> Result:
    age, limit = topic.newest_record_age(facts.config, facts.ends()), facts.limits.freshness
    if age is None:
        return fail("producer", "publishing", "the topic holds no message")
    detail = f"newest message {age:.0f}s old"
    if age > limit:
        return fail("producer", "publishing", f"{detail}: nothing published for over {limit:g}s", age)
    return ok("producer", "publishing", detail, age)


def _age(event: dict) -> str:
    """'4m 10s' since a log event was logged."""
    seconds = int((datetime.now(timezone.utc) - time_of(event)).total_seconds())
    return f"{seconds // 60}m {seconds % 60}s" if seconds >= 60 else f"{max(0, seconds)}s"
