"""Runbook 3.3's producer rows: exchange API (or WebSocket stream) health, symbols, publishing."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

from cryptostream.core import events
from cryptostream.ops import programs
from cryptostream.ops.checks import Result, fail, ok, warn
from cryptostream.ops.health.facts import Facts
from cryptostream.ops.health.probes.log_events import events_named, newest_event, time_of
from cryptostream.pipeline import topic


def api_health(facts: Facts) -> Result:
    if facts.config.exchange.source == "websocket":
        return stream_health(facts)
    polls = events_named(facts.config, programs.PRODUCER, {events.POLL}, 24)
    limited = sum(1 for e in polls if e.get("error") == "rate_limited")
    failed = sum(1 for e in polls if e.get("error") and e.get("error") != "rate_limited")
    rate, limits = (limited + failed) / len(polls) if polls else 0.0, facts.limits
    detail = f"{len(polls)} requests, {failed} failed, {limited} rate-limited (429/418) in 24 h"
    if not polls:
        return warn("producer", "api", "no exchange requests logged in 24 h")
    if rate >= limits.api_failure_rate_fail:
        return fail("producer", "api", f"{detail}: failure rate {rate:.0%}", rate)
    if limited or rate >= limits.api_failure_rate_warn:
        return warn("producer", "api", f"{detail}: failure rate {rate:.0%}", rate)
    return ok("producer", "api", detail, rate)


def stream_health(facts: Facts) -> Result:
    """The WebSocket source: connected and streaming, gaps refilled, few reconnects."""
    found = Counter(e["event"] for e in events_named(facts.config, programs.PRODUCER, events.STREAM_HEALTH, 24))
    count = {name: found[name] for name in events.STREAM_HEALTH}
    detail = (f"{count['stream']} stream reports, {count['ws_disconnected']} disconnects, "
              f"{count['ws_connect_failed']} failed connects, {count['backfill_incomplete']} gaps not "
              f"refilled in 24 h")
    if not count["stream"]:
        return warn("producer", "api", "no WebSocket stream reports logged in 24 h")
    if count["backfill_incomplete"]:
        return fail("producer", "api", f"{detail}: trades missing (see backfill_incomplete in bin/logs producer)",
                    count["backfill_incomplete"])
    if count["ws_connect_failed"] or count["ws_disconnected"] > facts.limits.restarts_warn:
        return warn("producer", "api", detail, count["ws_disconnected"])
    return ok("producer", "api", detail, count["ws_disconnected"])


def symbols(facts: Facts) -> Result:
    """The producer's newest exchangeInfo check: which configured symbols it leaves out and why."""
    hours = max(1.0, 3 * facts.config.exchange.symbol_check_interval / 3600)
    event = newest_event(facts.config, programs.PRODUCER, events.SYMBOL_CHECK, hours)
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
