"""End-to-end helpers: what is in Kafka, what the processor has applied, and MySQL queries.

The oracle itself is bin/reconcile (cryptostream/ops/reconcile/): it recomputes every
window from the messages in Kafka, from the message schema alone, independently of the
processor's Spark and sink code; tests/unit/ops/reconcile/test_reconcile.py checks it against hand-made figures.
"""
from __future__ import annotations

from pathlib import Path

from kafka import KafkaProducer

from cryptostream.core import db
from cryptostream.core.config import Config
from cryptostream.ops.reconcile import wait_processed
from cryptostream.pipeline import topic

PROJECT_DIR = Path(__file__).resolve().parents[2]  # the checkout the tests run from (tests/helpers/..)


def query(config: Config, sql: str, params: tuple = ()) -> list[tuple]:
    connection = db.connect(config)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        connection.close()


def wait_until_processed(config: Config, timeout: float = 120) -> dict[int, int]:
    """Wait until the processor has applied everything now in the topic; returns the offsets."""
    target = {p: o for p, o in topic.end_offsets(config).items() if o > 0}
    wait_processed(config, target, timeout)
    return target


def send(config, pairs: list[tuple[bytes | None, bytes | None]]) -> None:
    producer = KafkaProducer(bootstrap_servers=config.kafka.bootstrap_servers, max_request_size=2_000_000)
    for key, value in pairs:
        producer.send(config.kafka.topic, key=key, value=value)
    producer.flush()
    producer.close()
