"""Publishes price messages to Kafka without losing them while Kafka is away.

Messages wait in a bounded in-memory buffer until the broker acknowledges them (acks=all);
only then are they dropped from it. A full buffer drops its oldest message, counted and logged.
"""
from __future__ import annotations

from collections import deque
from typing import Iterable

import structlog
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from cryptostream import metrics
from cryptostream.config import Config
from cryptostream.schema import PriceMessage

log = structlog.get_logger("publisher")


def ensure_topic(config: Config) -> bool:
    """Create the topic if it is missing; True when this call created it."""
    kafka = config.kafka
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers, client_id="cryptostream-admin",
                             request_timeout_ms=10_000, bootstrap_timeout_ms=2_000)
    try:
        if kafka.topic in admin.list_topics():
            return False
        topic = NewTopic(kafka.topic, num_partitions=kafka.partitions,
                         replication_factor=kafka.replication_factor,
                         topic_configs={"retention.ms": str(int(kafka.retention * 1000))})
        admin.create_topics([topic])
        return True
    except TopicAlreadyExistsError:
        return False
    finally:
        admin.close()


class Publisher:
    """A KafkaProducer behind a bounded buffer; `drain()` sends what it can."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.pending: deque[PriceMessage] = deque()
        self.dropped = 0
        self.published = 0
        self._producer: KafkaProducer | None = None
        self._topic_ready = False

    def add(self, messages: Iterable[PriceMessage]) -> None:
        for message in messages:
            if len(self.pending) >= self.config.producer.buffer_max_messages:
                lost = self.pending.popleft()
                self.dropped += 1
                metrics.DROPPED.inc()
                log.error("buffer_overflow", dropped_symbol=lost.symbol,
                          dropped_event_time=lost.event_time, dropped_total=self.dropped)
            self.pending.append(message)

    def drain(self, timeout: float = 10.0) -> int:
        """Send every pending message and wait for acks; returns how many were acknowledged."""
        if not self.pending or not self._connect():
            return 0
        batch, futures = list(self.pending), []
        for message in batch:
            future = self._send(message)
            if future is None:  # broker away: the rest stay pending for the next drain
                break
            futures.append(future)
        try:
            self._producer.flush(timeout=timeout)
        except KafkaError as exc:
            log.warning("kafka_flush_failed", error=str(exc), pending=len(self.pending))
        acked = {id(m) for m, f in zip(batch, futures) if f.succeeded()}
        self.pending = deque(m for m in self.pending if id(m) not in acked)
        self.published += len(acked)
        return len(acked)

    def _send(self, message: PriceMessage):
        try:
            return self._producer.send(self.config.kafka.topic, key=message.symbol.encode(),
                                       value=message.to_json())
        except KafkaError as exc:
            log.warning("kafka_send_failed", error=str(exc))
            return None

    def _connect(self) -> bool:
        if self._producer is not None and self._topic_ready:
            return True
        try:
            if not self._topic_ready:
                if ensure_topic(self.config):
                    log.info("topic_created", topic=self.config.kafka.topic,
                             partitions=self.config.kafka.partitions)
                self._topic_ready = True
            if self._producer is None:
                self._producer = self._new_producer()
            return True
        except KafkaError as exc:
            log.warning("kafka_unreachable", error=type(exc).__name__,
                        bootstrap_servers=self.config.kafka.bootstrap_servers,
                        pending=len(self.pending))
            return False

    def _new_producer(self) -> KafkaProducer:
        settings = self.config.producer
        return KafkaProducer(
            bootstrap_servers=self.config.kafka.bootstrap_servers,
            client_id="cryptostream-producer",
            bootstrap_timeout_ms=2_000,
            acks="all",
            retries=5,
            linger_ms=settings.linger_ms,
            compression_type=settings.compression if settings.compression != "none" else None,
            # while the broker is away a send gives up fast, so polling keeps its pace
            max_block_ms=1_000,
            request_timeout_ms=10_000,
            # one in flight keeps per-partition order across retries
            max_in_flight_requests_per_connection=1,
        )

    def close(self, timeout: float = 10.0) -> None:
        self.drain(timeout)
        if self._producer is not None:
            self._producer.close(timeout=timeout)
        if self.pending:
            log.error("unsent_at_exit", pending=len(self.pending))
