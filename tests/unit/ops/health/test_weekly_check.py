"""weekly-check's reading of sql/schema.sql (every table, columns only, no key clauses), and its
slow micro-batches row from the duration buckets of pipeline_stats, and its count of errors."""
from __future__ import annotations

from datetime import datetime

from cryptostream.ops.stack.provisioning import TABLES
from cryptostream.ops.health.weekly_check import declared_columns, errors, slow_batch_row
from cryptostream.pipeline.stats import Figure
from cryptostream.pipeline.stats.figure import SECONDS


def test_declared_columns_are_columns_of_every_table() -> None:
    declared = declared_columns()
    assert set(declared) == set(TABLES)
    names = [name for columns in declared.values() for name in columns]
    assert all(name.islower() for name in names), names  # PRIMARY/UNIQUE/KEY lines are not columns
    assert declared["moving_averages"]["vwap"] == "decimal(32,12)"
    assert declared["counted_ranges"]["key_list"] == "longblob"
    assert declared["pipeline_stats"]["total"] == "decimal(30,6)"


def durations(*seconds: float) -> Figure:
    figure = Figure()
    for value in seconds:
        figure.observe(value, SECONDS)
    return figure


PEAK = datetime(2026, 12, 3, 4, 5)


def test_slow_batches_are_counted_exactly_at_an_edge() -> None:
    """5 s (the default batch_p95_warn) is a bucket edge: 4.9 s is not slow, 5.2 s and 12 s are."""
    result = slow_batch_row(durations(0.4, 4.9, 5.2, 12.0), PEAK, 5.0)
    assert result.status.name == "WARN" and result.value == 2, result
    assert "2 of 4 micro-batches over 5s" in result.detail and "slowest 12.0s (minute 2026-12-03 04:05" in \
        result.detail, result.detail


def test_a_limit_between_edges_names_the_uncertain_bucket() -> None:
    """4.5 s lies inside (4, 5]: a 4.9 s batch may be over it; the slowest one certainly is."""
    result = slow_batch_row(durations(0.4, 4.6, 4.9), PEAK, 4.5)
    assert result.value == 1 and "+1 possibly" in result.detail, result.detail
    assert slow_batch_row(durations(0.4, 4.2), PEAK, 4.5).status.name == "OK"


def test_no_slow_batch_is_ok() -> None:
    result = slow_batch_row(durations(0.3, 0.5), None, 5.0)
    assert result.status.name == "OK" and "2 micro-batches" in result.detail, result


def logged(*lines: tuple[str, str]) -> list[dict]:
    return [{"timestamp": f"2026-12-0{i % 9 + 1}T10:00:00", "component": "producer", "level": level, "event": event}
            for i, (level, event) in enumerate(lines)]


def test_errors_are_counted_by_event_and_warn() -> None:
    result = errors(logged(("warning", "poll_failed"), ("error", "backfill_incomplete"), ("warning", "poll_failed"),
                           ("error", "backfill_incomplete"), ("error", "buffer_overflow"), ("info", "poll")))
    assert result.status.name == "WARN"
    assert result.detail.startswith("backfill_incomplete x2, buffer_overflow x1 in 7 days")
    assert "warnings: poll_failed x2" in result.detail


def test_warnings_alone_are_listed_but_ok() -> None:
    result = errors(logged(("warning", "poll_failed"), ("info", "poll")))
    assert result.status.name == "OK"
    assert result.detail == "no error in 7 days; warnings: poll_failed x1"
