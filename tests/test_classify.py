"""The processor's Spark rules agree with the shared schema rules, and aggregate exactly."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from cryptostream.processor import classify
from cryptostream.schema import Reason, problem
from tests.test_schema import NOW, POISON, SYMBOLS, message

pyspark = pytest.importorskip("pyspark")
WINDOW_MS = 5_000


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession
    session = (SparkSession.builder.master("local[1]").appName("test-classify")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1")
               .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    yield session
    session.stop()


def kafka_frame(spark, values: list[bytes], record_ms: int = NOW):
    """Rows shaped like Spark's Kafka source: one partition, offsets 0..n-1."""
    stamp = datetime.fromtimestamp(record_ms / 1000, tz=timezone.utc)
    rows = [("crypto_prices", 0, offset, b"k", bytearray(v), stamp) for offset, v in enumerate(values)]
    return spark.createDataFrame(rows, "topic string, partition int, offset long, key binary, value binary, "
                                       "timestamp timestamp")


def rules(watermark_ms: int = -(2**62)) -> classify.Rules:
    return classify.Rules(SYMBOLS, WINDOW_MS, 300_000, watermark_ms)


def test_spark_and_python_rules_agree_on_every_poison_message(spark) -> None:
    """Each poison message gets the same reason from Spark as from schema.problem()."""
    values = [value for value, _ in POISON] + [message()]
    rows = classify.classify(kafka_frame(spark, values), rules()).select("offset", "reason").collect()
    spark_reasons = {row["offset"]: row["reason"] for row in rows}
    expected = {i: problem(v, SYMBOLS, 300_000, NOW) for i, v in enumerate(values)}
    assert spark_reasons == expected
    assert expected[len(values) - 1] is None


def test_rows_for_windows_closed_by_the_watermark_are_late(spark) -> None:
    """A row whose window ended at or before the watermark is rejected as late."""
    frame = kafka_frame(spark, [message(event_time=NOW), message(event_time=NOW + 10_000)])
    end_of_first = NOW - NOW % WINDOW_MS + WINDOW_MS
    reasons = [r["reason"] for r in classify.classify(frame, rules(end_of_first)).orderBy("offset").collect()]
    assert reasons == [Reason.LATE, None]


def test_aggregate_is_exact_with_open_and_close_by_event_time(spark) -> None:
    """Sum, count, min, max exact; open/close are first/last by event time, not by offset."""
    start = NOW - NOW % WINDOW_MS
    prices = [("3.00000001", start + 400), ("1.00000000", start + 100), ("2.50000000", start + 4_999),
              ("9.00000000", start + WINDOW_MS)]
    frame = kafka_frame(spark, [message(price=p, event_time=t) for p, t in prices])
    got = {r["window_start_ms"]: r.asDict() for r in classify.aggregate(classify.classify(frame, rules()), rules())
           .collect()}
    first = got[start]
    assert first["price_sum"] == Decimal("6.50000001") and first["sample_count"] == 3
    assert (first["min_price"], first["max_price"]) == (Decimal("1"), Decimal("3.00000001"))
    assert (first["open_price"], first["close_price"]) == (Decimal("1"), Decimal("2.5"))
    assert got[start + WINDOW_MS]["sample_count"] == 1


def test_end_offsets_are_next_to_read(spark) -> None:
    """The batch's offsets per partition are one past the highest offset seen."""
    frame = classify.classify(kafka_frame(spark, [message(), b"junk", message()]), rules())
    assert [(r["partition"], r["next_offset"]) for r in classify.end_offsets(frame).collect()] == [(0, 3)]
    assert json.loads(json.dumps([r["reason"] for r in classify.rejected(frame).collect()])) == [Reason.NOT_JSON]


def test_copies_of_a_price_are_marked_duplicate(spark) -> None:
    """Within a batch all but the first copy (by offset) of a (symbol, event time) are
    duplicates; a key an earlier batch counted makes every copy a duplicate."""
    values = [message(price="1", event_time=NOW), message(price="2", event_time=NOW),
              message(price="3", event_time=NOW + 1), message(price="1", event_time=NOW + 2),
              message(price="1", event_time=NOW + 2), b"junk"]
    classified = classify.classify(kafka_frame(spark, values), rules())
    aggregate = classify.aggregate(classified, rules()).collect()[0]
    assert (aggregate["sample_count"], aggregate["distinct_keys"]) == (5, 3)
    assert aggregate["keys"] == f"{NOW},{NOW},{NOW + 1},{NOW + 2},{NOW + 2}"
    earlier = spark.createDataFrame([("BTCUSDT", NOW + 1)], "symbol string, key long")
    marked = classify.mark_duplicates(classified, earlier)
    reasons = [r["reason"] for r in marked.orderBy("offset").collect()]
    assert reasons == [None, Reason.DUPLICATE, Reason.DUPLICATE, None, Reason.DUPLICATE, Reason.NOT_JSON]
    deduplicated = classify.aggregate(marked, rules()).collect()[0]
    assert (deduplicated["sample_count"], deduplicated["price_sum"]) == (2, Decimal(2))
    assert deduplicated["keys"] == f"{NOW},{NOW + 2}" and deduplicated["distinct_keys"] == 2
