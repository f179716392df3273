"""The dashboard's health figures: read from metrics text, judged against [checks] as daily-check does."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cryptostream.core.config import load
from cryptostream.dashboard import candles
from cryptostream.dashboard.health import (Samples, by_label, processor_figures, producer_figures, quantile,
                                           total)

pytestmark = pytest.mark.unit
LIMITS = load(env={}).checks


def samples(text: str) -> Samples:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def figures(found: list) -> dict:
    return {f.name: f for f in found}


PRODUCER = """
cryptostream_messages_published_total 500
cryptostream_last_publish_timestamp_seconds 1000
cryptostream_exchange_requests_total{outcome="ok"} 90
cryptostream_exchange_requests_total{outcome="error"} 6
cryptostream_exchange_requests_total{outcome="rate_limited"} 4
"""


def test_quantile_interpolates_within_the_bucket_as_prometheus_does() -> None:
    """The same buckets as conf/prometheus/rules_test.yml's 'batches of 5-10 s' give its 9.75 s."""
    assert quantile(0.95, [(5.0, 0.0), (10.0, 60.0), (30.0, 60.0), (float("inf"), 60.0)]) == pytest.approx(9.75)
    assert quantile(0.95, []) == 0.0
    assert quantile(0.5, [(1.0, 0.0), (float("inf"), 10.0)]) == 1.0  # in +Inf: its lower bound


def test_producer_figures_take_rates_over_the_readings_and_judge_failures() -> None:
    earlier = samples(PRODUCER.replace("published_total 500", "published_total 300"))
    found = figures(producer_figures(samples(PRODUCER), (980.0, earlier), 1020.0, LIMITS))
    assert found["publish rate"].value == pytest.approx(200 / 40)
    assert found["last publish"].value == pytest.approx(20.0)
    assert found["last publish"].status == "ok"
    assert found["exchange failures"].value == 10
    assert found["exchange failures"].status == "warn"  # 10 % > the 5 % warning, below 50 %
    assert found["rate limits"].value == 4


def test_a_stale_publish_fails() -> None:
    found = figures(producer_figures(samples(PRODUCER), None, 1000 + LIMITS.freshness + 1, LIMITS))
    assert found["last publish"].status == "fail"
    assert found["publish rate"].value == 0.0  # no earlier reading: no rate yet


def test_a_silent_endpoint_is_a_failure_not_zeros() -> None:
    found = producer_figures(None, None, 0.0, LIMITS)
    assert found[0].status == "fail"
    assert all(f.value is None for f in found)


def test_processor_figures_sum_partition_lag_and_count_rejects_by_reason() -> None:
    text = """
cryptostream_last_batch_timestamp_seconds 1000
cryptostream_partition_lag_messages{partition="0"} 700
cryptostream_partition_lag_messages{partition="1"} 500
cryptostream_batch_duration_seconds_bucket{le="1.0"} 10
cryptostream_batch_duration_seconds_bucket{le="+Inf"} 10
cryptostream_mysql_write_seconds_count 4
cryptostream_mysql_write_seconds_sum 0.2
cryptostream_mysql_write_failures_total 1
cryptostream_rejected_messages_total{reason="invalid_json"} 2
cryptostream_rejected_messages_total{reason="late"} 3
"""
    found = figures(processor_figures(samples(text), None, 1001.0, LIMITS))
    assert found["kafka lag"].value == 1200
    assert found["kafka lag"].status == "warn"
    assert found["mysql write latency"].value == pytest.approx(50.0)
    assert found["mysql write failures"].status == "fail"
    assert found["rejects"].value == 5
    assert found["rejects"].detail == "invalid_json 2, late 3"
    assert found["batch duration p95"].value <= 1.0


def test_totals_and_labels() -> None:
    read = samples(PRODUCER)
    assert total(read, "cryptostream_exchange_requests_total") == 100
    assert total(read, "cryptostream_exchange_requests_total", outcome="ok") == 90
    assert by_label(read, "cryptostream_exchange_requests_total", "outcome")["error"] == 6


def test_rows_are_plain_json_with_utc_millisecond_times() -> None:
    row = ("BTCUSDT", datetime(2026, 12, 2, 11, 0), datetime(2026, 12, 2, 11, 1), Decimal("1.5"), Decimal("2"),
           Decimal("1"), Decimal("1.75"), Decimal("1.6"), 12, None, None, datetime(2026, 12, 2, 11, 1, 2, 345678))
    as_json = candles.as_json(row)
    assert as_json["start"] == "2026-12-02T11:00:00.000Z"
    assert as_json["updated"] == "2026-12-02T11:01:02.345Z"
    assert as_json["high"] == 2.0
    assert as_json["volume"] is None
    assert candles.parse_time(as_json["updated"]) == datetime(2026, 12, 2, 11, 1, 2, 345000)


def test_a_range_reads_at_most_its_windows() -> None:
    config = load(env={})
    assert candles.row_cap(config, candles.RANGES["1h"]) == (60 + 2) * 5
