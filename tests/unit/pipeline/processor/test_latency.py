"""The arithmetic of per-message latency (processor/latency.py): ages at the batch's start and
its commit time give every message's latency to its bucket, and buckets merge into exact
percentiles over messages. (Spark's side, age_columns.age_edge: tests/integration/test_message_latency.py.)"""
from __future__ import annotations

import pytest

from cryptostream.pipeline.processor import latency

pytestmark = pytest.mark.unit

COMMIT_MS = 1_795_000_001_000


def test_buckets_are_10_ms_wide_up_to_10_s() -> None:
    assert [latency.bucket_edge(ms) for ms in (0, 1, 10, 11, 999, 10_000)] == [0, 10, 10, 20, 1000, 10_000]


def test_longer_latencies_get_a_tenth_of_their_decade() -> None:
    assert [latency.bucket_edge(ms) for ms in (10_001, 12_345, 99_001, 123_456)] == [11_000, 13_000, 100_000, 130_000]


def test_ages_at_the_batch_start_move_by_the_time_to_the_commit() -> None:
    """Ages 500 ms (3 messages) and 2 s (1) at the start; the commit 345 ms later."""
    distribution = latency.latencies({500: 3, 2000: 1}, COMMIT_MS - 345, COMMIT_MS)
    assert distribution.buckets == {845: 3, 2345: 1}


def test_messages_and_max_of_a_distribution() -> None:
    distribution = latency.Distribution({500: 3, 510: 2, 2000: 1})
    assert (distribution.messages, distribution.max_ms) == (6, 2000)


def test_percentiles_are_over_messages_not_batches() -> None:
    """Two batches: one of 98 messages at 100 ms, one of 2 at 3 s: p50 100 ms, p99 3 s."""
    merged = latency.merged([latency.Distribution({100: 98}), latency.Distribution({3000: 2})])
    assert latency.percentile_ms(merged, 0.5) == 100
    assert latency.percentile_ms(merged, 0.98) == 100
    assert latency.percentile_ms(merged, 0.99) == 3000


def test_no_messages_no_percentile() -> None:
    assert latency.percentile_ms(latency.Distribution({}), 0.5) is None


def test_stored_text_reads_back() -> None:
    distribution = latency.Distribution({510: 2, 500: 3, 13_000: 1})
    assert latency.encode(distribution) == "500:3,510:2,13000:1"
    assert latency.decode(latency.encode(distribution)) == distribution


def test_an_empty_text_is_no_messages() -> None:
    assert latency.decode(None).messages == 0


def test_ages_add_up_the_groups_of_a_batch() -> None:
    ages = latency.Ages(COMMIT_MS)
    ages.add({"ingest_ages": [{"age": 50, "n": 2}], "trade_event_ages": []})
    ages.add({"ingest_ages": [{"age": 50, "n": 1}, {"age": 60, "n": 4}], "trade_event_ages": [{"age": 30, "n": 1}]})
    assert ages.ingest == {50: 3, 60: 4}
    assert ages.trade_event == {30: 1}
