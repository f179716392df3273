"""The topic between producer and processor: creating it as configured, its offsets, and its
newest messages (where the trade stream resumes; what the weekly schema check samples)."""
from __future__ import annotations

import time

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from cryptostream.core.config import Config, KafkaConfig


class TopicMissing(LookupError):
    """The broker answers but the topic does not exist (bin/up creates it)."""


def new_topic(kafka: KafkaConfig) -> NewTopic:
    """The topic as configured. min.insync.replicas is set only above 1 (Kafka's default), so
    a cluster whose brokers already demand more keeps its stricter setting."""
    settings = {"retention.ms": str(int(kafka.retention * 1000))}
    if kafka.min_insync_replicas > 1:
        settings["min.insync.replicas"] = str(kafka.min_insync_replicas)
    return NewTopic(kafka.topic, num_partitions=kafka.partitions, replication_factor=kafka.replication_factor,
                    topic_configs=settings)


def ensure_topic(config: Config) -> bool:
    """Create the topic if it is missing; True when this call created it."""
    kafka = config.kafka
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers, client_id="cryptostream-admin",
                             request_timeout_ms=10_000, bootstrap_timeout_ms=2_000)
    try:
        if kafka.topic in admin.list_topics():
            return False
        admin.create_topics([new_topic(kafka)])
        return True
    except TopicAlreadyExistsError:
        return False
    finally:
        admin.close()


def end_offsets(config: Config) -> dict[int, int]:
    """Next offset per partition of the topic; raises if the broker or topic is missing."""
    return _topic_offsets(config, "end_offsets")


def start_offsets(config: Config) -> dict[int, int]:
    """Oldest offset still held per partition (above 0 once retention has deleted messages)."""
    return _topic_offsets(config, "beginning_offsets")


def _topic_offsets(config: Config, which: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=config.kafka.bootstrap_servers, request_timeout_ms=10_000,
                             bootstrap_timeout_ms=3_000)
    try:
        partitions = consumer.partitions_for_topic(config.kafka.topic)
        if not partitions:
            raise TopicMissing(f"topic {config.kafka.topic} does not exist on {config.kafka.bootstrap_servers}; "
                               f"bin/up creates it")
        tps = [TopicPartition(config.kafka.topic, p) for p in sorted(partitions)]
        return {tp.partition: offset for tp, offset in getattr(consumer, which)(tps).items()}
    finally:
        consumer.close()


def newest_record_age(config: Config, ends: dict[int, int]) -> float | None:
    """Seconds since the newest message in the topic was written (None for an empty topic)."""
    consumer = KafkaConsumer(bootstrap_servers=config.kafka.bootstrap_servers, enable_auto_commit=False,
                             consumer_timeout_ms=5_000)
    try:
        newest = None
        for partition, end in ends.items():
            if end == 0:
                continue
            tp = TopicPartition(config.kafka.topic, partition)
            consumer.assign([tp])
            consumer.seek(tp, end - 1)
            for records in consumer.poll(timeout_ms=5_000).values():
                newest = max([newest or 0, *(r.timestamp for r in records)])
        return None if newest is None else time.time() - newest / 1000
    finally:
        consumer.close()


def newest_messages(config: Config, per_partition: int) -> list[tuple[int, int, bytes, int]]:
    """The newest `per_partition` messages of each partition: (partition, offset, value, timestamp ms)."""
    ends = end_offsets(config)
    consumer = KafkaConsumer(bootstrap_servers=config.kafka.bootstrap_servers, enable_auto_commit=False,
                             consumer_timeout_ms=5_000)
    try:
        sample = []
        for partition, end in ends.items():
            tp = TopicPartition(config.kafka.topic, partition)
            consumer.assign([tp])
            consumer.seek(tp, max(0, end - per_partition))
            deadline = time.monotonic() + 15
            while consumer.position(tp) < end and time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=1_000).values():
                    sample += [(r.partition, r.offset, r.value, r.timestamp) for r in records if r.offset < end]
        return sample
    finally:
        consumer.close()
