"""Batches shaped like Spark's Kafka source, and the processor's rules as the tests configure them."""
from __future__ import annotations

from datetime import datetime, timezone

from cryptostream.pipeline.processor import classify
from tests.helpers.messages import NOW, SYMBOLS

WINDOW_MS = 5_000


def kafka_frame(spark, values: list[bytes], record_ms: int = NOW):
    """Rows shaped like Spark's Kafka source: one partition, offsets 0..n-1."""
    stamp = datetime.fromtimestamp(record_ms / 1000, tz=timezone.utc)
    rows = [("crypto_prices", 0, offset, b"k", bytearray(v), stamp) for offset, v in enumerate(values)]
    return spark.createDataFrame(rows, "topic string, partition int, offset long, key binary, value binary, "
                                       "timestamp timestamp")


def rules(watermark_ms: int = -(2**62)) -> classify.Rules:
    return classify.Rules(SYMBOLS, WINDOW_MS, 300_000, watermark_ms)
