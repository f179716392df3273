"""Reading Kafka for the account: every message of the topic, or those below given offsets."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from cryptostream.core.config import Config
from cryptostream.pipeline.schema import fields


@dataclass(frozen=True)
class Message:
    partition: int
    offset: int
    value: bytes
    timestamp_ms: int

    @property
    def body(self) -> dict[str, Any]:
        """The schema fields as the processor reads them (schema.fields: no recursion, so
        deep nesting cannot crash the account)."""
        return fields(self.value)


def read_messages(config: Config, below: dict[int, int] | None = None) -> list[Message]:
    """Every message in the topic, or only those below the given offset per partition."""
    consumer = KafkaConsumer(bootstrap_servers=config.kafka.bootstrap_servers, enable_auto_commit=False,
                             consumer_timeout_ms=5_000)
    try:
        partitions = [TopicPartition(config.kafka.topic, p)
                      for p in sorted(consumer.partitions_for_topic(config.kafka.topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        stop = {tp: min(ends[tp], (below or {}).get(tp.partition, ends[tp])) for tp in partitions}
        messages: list[Message] = []
        while any(consumer.position(tp) < stop[tp] for tp in partitions):
            batch = consumer.poll(timeout_ms=2_000)
            if not batch:
                break
            for tp, records in batch.items():
                messages += [Message(r.partition, r.offset, r.value, r.timestamp) for r in records if r.offset < stop[tp]]
        return messages
    finally:
        consumer.close()
