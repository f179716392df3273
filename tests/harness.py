"""The end-to-end oracle: the messages actually in Kafka, a reference recomputed from them,
and what the processor has applied so far.

The reference is written here from the message schema alone, independently of the
processor's Spark and sink code, so that a bug there cannot hide in both.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from decimal import Decimal

from kafka import KafkaConsumer, TopicPartition

from cryptostream import db
from cryptostream.config import Config

@dataclass
class Message:
    partition: int
    offset: int
    value: bytes
    timestamp_ms: int

    @property
    def body(self) -> dict:
        return json.loads(self.value)


def read_topic(config: Config) -> list[Message]:
    """Every message now in the topic, read back with a plain Kafka consumer."""
    consumer = KafkaConsumer(bootstrap_servers=config.kafka.bootstrap_servers, enable_auto_commit=False,
                             consumer_timeout_ms=5_000)
    try:
        partitions = [TopicPartition(config.kafka.topic, p)
                      for p in sorted(consumer.partitions_for_topic(config.kafka.topic))]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        messages: list[Message] = []
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < ends[tp] for tp in partitions) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1_000).values():
                messages += [Message(r.partition, r.offset, r.value, r.timestamp) for r in records]
        return messages
    finally:
        consumer.close()


def end_offsets(config: Config) -> dict[str, int]:
    consumer = KafkaConsumer(bootstrap_servers=config.kafka.bootstrap_servers)
    try:
        partitions = [TopicPartition(config.kafka.topic, p) for p in consumer.partitions_for_topic(config.kafka.topic)]
        return {str(tp.partition): offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def reference(messages: list[Message], window_ms: int) -> dict[tuple[str, int], dict]:
    """Per (symbol, window start ms): count, sum, min, max, open, close, average."""
    windows: dict[tuple[str, int], list[tuple[int, int, int, Decimal]]] = {}
    for m in messages:
        event = m.body["event_time"]
        key = (m.body["symbol"], event - event % window_ms)
        windows.setdefault(key, []).append((event, m.partition, m.offset, Decimal(m.body["price"])))
    result = {}
    for key, rows in windows.items():
        rows.sort()
        prices = [r[3] for r in rows]
        result[key] = {"count": len(prices), "sum": sum(prices), "min": min(prices), "max": max(prices),
                       "open": prices[0], "close": prices[-1], "average": sum(prices) / len(prices)}
    return result


def query(config: Config, sql: str, params: tuple = ()) -> list[tuple]:
    connection = db.connect(config)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        connection.close()


def processed_offsets(config: Config) -> dict[str, int]:
    rows = query(config, "SELECT offsets FROM stream_progress WHERE query_name = %s",
                 (config.processor.query_name,))
    return json.loads(rows[0][0]).get(config.kafka.topic, {}) if rows else {}


def wait_until_processed(config: Config, timeout: float = 120) -> None:
    """Wait until the processor has applied everything now in the topic."""
    target = {p: o for p, o in end_offsets(config).items() if o > 0}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = processed_offsets(config)
        if all(done.get(p, 0) >= o for p, o in target.items()):
            return
        time.sleep(1)
    raise TimeoutError(f"processor did not reach {target}; it is at {processed_offsets(config)}")
