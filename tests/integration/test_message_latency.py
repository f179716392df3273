"""Per-message latency of a known micro-batch, through the processor's own batch handler on a
local Spark and a private MariaDB: every counted message, from its ingest_time (a trade's event
time too) to the commit of the transaction that counted it (processor/latency.py)."""
from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timezone

import pytest

from cryptostream.core import metrics
from cryptostream.core.config import Config
from cryptostream.ops.stack import provisioning
from cryptostream.pipeline.processor import latency
from cryptostream.pipeline.processor.batch import BatchHandler
from cryptostream.pipeline.processor.sink import MySQLSink
from tests.helpers.harness import query
from tests.helpers.messages import message

pytestmark = pytest.mark.integration  # local Spark and a private MariaDB (tests/integration/conftest.py)


def tick_edge_ago(ms: int) -> int:
    """A time `ms` ago, on a 10 ms edge, so the buckets are known exactly."""
    return (int(time.time() * 1000) // 10) * 10 - ms


def frame(spark, values: list[tuple[int, bytes]]):
    """Kafka-shaped rows: (partition, value); offsets count per partition."""
    stamp = datetime.fromtimestamp(time.time(), tz=timezone.utc)
    offsets: dict[int, int] = {}
    rows = []
    for partition, value in values:
        offsets[partition] = offsets.get(partition, -1) + 1
        rows.append(("crypto_prices", partition, offsets[partition], b"k", bytearray(value), stamp))
    return spark.createDataFrame(rows, "topic string, partition int, offset long, key binary, value binary, "
                                       "timestamp timestamp")


@pytest.fixture(scope="module")
def applied(spark, mysql_config: Config) -> tuple[tuple, int, int]:
    """One batch: BTCUSDT prices ingested at t0 (3, over two partitions) and t0 + 100 ms (2), one
    ETHUSDT trade ingested at t0 whose exchange event time is t0 - 1 s, and one reject; applied
    by the batch handler. Returns its message_latency row, the histogram count before and t0."""
    spark.range(1).collect()  # Spark started: the batch's latency is its own, under 10 s
    config = dataclasses.replace(mysql_config, processor=dataclasses.replace(mysql_config.processor,
                                                                             query_name="latency_test"))
    t0 = tick_edge_ago(500)
    prices = [(partition, message(event_time=t0 + i, ingest_time=t0 + ingest))
              for i, (partition, ingest) in enumerate([(0, 0), (1, 0), (0, 0), (0, 100), (1, 100)])]
    trade = (2, message(symbol="ETHUSDT", schema_version=2, source="binance-ws", trade_id=7, quantity="1",
                        event_time=t0 - 1000, ingest_time=t0))
    before = count_observed("ingest")
    sink = MySQLSink(config)
    BatchHandler(config, sink)(frame(spark, [*prices, trade, (0, b"not json")]), 0)
    sink.close()
    rows = query(config, "SELECT UNIX_TIMESTAMP(committed_at) * 1000, messages, buckets, max_ms, trades, "
                         "trade_buckets, trade_max_ms FROM message_latency WHERE query_name = 'latency_test'")
    return rows[0], before, t0


def count_observed(since: str) -> float:
    return metrics.PROCESSOR_REGISTRY.get_sample_value("cryptostream_message_latency_seconds_count",
                                                       {"since": since}) or 0.0


def test_every_counted_message_is_recorded_once(applied) -> None:
    (_, messages, *_), *_ = applied
    assert messages == 6  # 5 prices and the trade; the reject is not counted


def edges(buckets: str) -> list[tuple[int, int]]:
    return sorted(latency.decode(buckets).buckets.items())


def test_latencies_are_to_the_commit_exact_to_10_ms(applied) -> None:
    """Each message's bucket edge is its latency to the commit rounded up by less than 10 ms:
    4 messages ingested at t0, 2 at t0 + 100 ms."""
    (commit_ms, _, buckets, *_), _, t0 = applied
    (newer, two), (older, four) = edges(buckets)
    assert (two, four) == (2, 4)
    assert int(commit_ms) - t0 <= older < int(commit_ms) - t0 + latency.TICK_MS


def test_buckets_keep_the_ingest_times_apart(applied) -> None:
    (_, _, buckets, *_), *_ = applied
    (newer, _), (older, _) = edges(buckets)
    assert older - newer == 100


def test_the_oldest_message_gives_the_max(applied) -> None:
    (_, _, buckets, max_ms, *_), *_ = applied
    assert max_ms == edges(buckets)[-1][0]


def test_trades_are_also_measured_from_the_exchange_event_time(applied) -> None:
    (commit_ms, _, _, _, trades, trade_buckets, trade_max_ms), _, t0 = applied
    assert (trades, latency.decode(trade_buckets).buckets) == (1, {trade_max_ms: 1})
    assert int(commit_ms) - t0 + 1000 <= trade_max_ms < int(commit_ms) - t0 + 1000 + latency.TICK_MS


def test_the_prometheus_histogram_counts_each_message(applied) -> None:
    _, before, _ = applied
    assert count_observed("ingest") - before == 6


def test_a_batch_id_applied_again_after_a_rebuild_replaces_its_record(spark, mysql_config: Config, applied) -> None:
    """Tables emptied (bin/rebuild, the benchmark) and batch 0 applied anew: one record, the new one."""
    config = dataclasses.replace(mysql_config, processor=dataclasses.replace(mysql_config.processor,
                                                                             query_name="latency_test"))
    provisioning.empty_tables(config)
    sink = MySQLSink(config)
    t0 = tick_edge_ago(500)
    BatchHandler(config, sink)(frame(spark, [(0, message(event_time=t0, ingest_time=t0))]), 0)
    sink.close()
    assert query(config, "SELECT messages FROM message_latency WHERE query_name = 'latency_test'") == [(1,)]
