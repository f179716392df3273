"""daily-check's producer `api` row, from the producer's per-minute statistics (pipeline_stats):
the REST source's request failures and rate limits, the WebSocket source's stream health."""
from __future__ import annotations

from datetime import datetime

from cryptostream.core.config import ChecksConfig
from cryptostream.ops.health.probes.pipeline_stats import StatsRange
from cryptostream.ops.health.rows import producer
from cryptostream.pipeline.stats import Figure
from cryptostream.pipeline.stats.figure import SECONDS
from cryptostream.pipeline.stats.names import (API_ERRORS, API_LATENCY, API_RATE_LIMITED, CLOCK_OFFSET, PRODUCER,
                                               stream_counter)

MINUTE = datetime(2026, 12, 1, 12, 0)
LIMITS = ChecksConfig()


def recorded(**counts: int) -> StatsRange:
    """A day's statistics holding these producer counts (metric name: count)."""
    stats = StatsRange(MINUTE.replace(day=1, hour=0), MINUTE.replace(day=2, hour=0))
    for metric, n in counts.items():
        figure = Figure()
        figure.add(n)
        stats.add(MINUTE, PRODUCER, metric, figure)
    return stats


def latencies(n: int) -> dict[str, int]:
    return {API_LATENCY: n}


def test_answered_requests_are_ok() -> None:
    result = producer.request_health(recorded(**latencies(1000)), LIMITS)
    assert result.status.name == "OK", result
    assert "1000 requests, 0 failed, 0 rate-limited" in result.detail, result.detail


def test_a_rate_limit_warns_and_many_failures_fail() -> None:
    """Any 429/418 warns; failures past api_failure_rate_fail fail, with the rate."""
    limited = producer.request_health(recorded(**latencies(998), **{API_RATE_LIMITED: 2}), LIMITS)
    assert limited.status.name == "WARN" and "2 rate-limited" in limited.detail, limited
    failing = producer.request_health(recorded(**latencies(40), **{API_ERRORS: 60}), LIMITS)
    assert failing.status.name == "FAIL" and "failure rate 60%" in failing.detail, failing
    assert failing.value == 0.6


def test_no_requests_recorded_warns() -> None:
    result = producer.request_health(recorded(), LIMITS)
    assert result.status.name == "WARN" and "pipeline_stats" in result.detail, result


def stream(**counts: int):
    return producer.stream_health(recorded(**{stream_counter(k): n for k, n in counts.items()}), LIMITS)


def test_streaming_is_ok() -> None:
    result = stream(reports=86_000, disconnects=1)
    assert result.status.name == "OK", result
    assert "86000 stream reports, 1 disconnects" in result.detail, result.detail


def test_a_gap_not_refilled_fails() -> None:
    """Trades the backfill could not fetch are missing data: FAIL, with where to look."""
    result = stream(reports=10, missed=3)
    assert result.status.name == "FAIL" and "backfill_incomplete" in result.detail, result
    assert result.value == 3


def test_no_stream_reports_warn() -> None:
    assert stream(connect_failures=4).status.name == "WARN"


def test_failed_connects_or_many_disconnects_warn() -> None:
    assert stream(reports=10, connect_failures=1).status.name == "WARN"
    assert stream(reports=10, disconnects=LIMITS.restarts_warn + 1).status.name == "WARN"


def offsets(*seconds: float) -> StatsRange:
    """A day's statistics holding these clock offset measurements."""
    stats = StatsRange(MINUTE.replace(day=1, hour=0), MINUTE.replace(day=2, hour=0))
    figure = Figure()
    for value in seconds:
        figure.observe(value, SECONDS)
    stats.add(MINUTE, PRODUCER, CLOCK_OFFSET, figure)
    return stats


def test_a_clock_in_step_with_the_exchange_is_ok() -> None:
    result = producer.clock_health(offsets(0.02, 0.15, 0.04), LIMITS)
    assert result.status.name == "OK", result
    assert "largest offset to the exchange's clock in 24 h: 150 ms (3 measurements)" in result.detail


def test_a_clock_off_by_more_than_the_threshold_warns_naming_ntp() -> None:
    result = producer.clock_health(offsets(0.02, 0.9), LIMITS)
    assert result.status.name == "WARN", result
    assert "900 ms" in result.detail
    assert "NTP" in result.detail


def test_no_clock_measurement_warns() -> None:
    assert producer.clock_health(recorded(), LIMITS).status.name == "WARN"
