"""Publishes price messages to Kafka without losing them while Kafka is away.

Messages wait in a bounded in-memory buffer until the broker acknowledges them (acks=all);
only then are they dropped from it. A full buffer drops its oldest message, counted and logged.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Iterable

import structlog
from kafka import KafkaProducer
from kafka.errors import KafkaError, MessageSizeTooLargeError

from cryptostream.core import events, metrics
from cryptostream.core.config import Config
from cryptostream.pipeline.schema import PriceMessage
from cryptostream.pipeline import topic
from cryptostream.pipeline.stats.run_stats import NoStats, RunStats
from cryptostream.pipeline.stats.names import DROPPED, PUBLISH_FAILURES, PUBLISHED

# The client's own limit on one request (kafka-python's default): a bigger message is refused
# before it is sent; the topic's max.message.bytes can refuse smaller ones at the broker.
MAX_REQUEST_BYTES = 1_048_576
TOO_LARGE = object()  # _send's answer for a message Kafka will never take

log = structlog.get_logger("publisher")


class Publisher:
    """A KafkaProducer behind a bounded buffer; `drain()` hands over what it can.

    A message is in `pending` until handed to the Kafka client, then `in_flight` until the
    broker acknowledges it (the client retries on its own, idempotently, for up to
    delivery_timeout_ms). Only a message whose delivery definitively failed is handed over
    again, so an outage does not turn into duplicates."""

    def __init__(self, config: Config, stats: RunStats | None = None) -> None:
        self.config = config
        self.stats = stats or NoStats()  # the producer passes its run's (pipeline_stats)
        self.pending: deque[PriceMessage] = deque()
        self.in_flight: list[tuple[PriceMessage, Any]] = []
        self.dropped = 0
        self.published = 0
        self._producer: KafkaProducer | None = None
        self._topic_ready = False
        # Messages in a batch the broker refused as too large: each is sent again alone, so
        # only the one really too large is dropped, not its batch-mates
        self._suspects: set[PriceMessage] = set()

    @property
    def backlog(self) -> int:
        """Messages not yet acknowledged by Kafka."""
        return len(self.pending) + len(self.in_flight)

    def add(self, messages: Iterable[PriceMessage]) -> None:
        for message in messages:
            if self.backlog >= self.config.producer.buffer_max_messages and self.pending:
                lost = self.pending.popleft()
                self.dropped += 1
                metrics.DROPPED.inc()
                self.stats.add(DROPPED)
                log.error(events.BUFFER_OVERFLOW, dropped_symbol=lost.symbol,
                          dropped_event_time=lost.event_time, dropped_total=self.dropped)
            self.pending.append(message)

    def drain(self, wait: float = 1.0) -> int:
        """Hand pending messages to Kafka, wait up to `wait` s for acks; returns how many were
        acknowledged since the last call."""
        if self.pending and self._connect():
            self._hand_over()
        if self.in_flight and self._producer is not None:
            try:
                self._producer.flush(timeout=wait)
            except KafkaError:
                pass  # not acknowledged yet: they stay in flight
        return self._collect()

    def _hand_over(self) -> None:
        while self.pending:
            alone = self.pending[0] in self._suspects
            if alone and self.in_flight:
                return  # a suspect goes in a batch of its own, once the others are acknowledged
            future = self._send(self.pending[0])
            if future is TOO_LARGE:
                continue  # refused for good and logged; the next one goes on
            if future is None:  # broker away: the rest stay pending for the next drain
                return
            self.in_flight.append((self.pending.popleft(), future))
            if alone:
                return

    def _collect(self) -> int:
        acked, failed, waiting = 0, [], []
        alone = len(self.in_flight) == 1
        for message, future in self.in_flight:
            if not future.is_done:
                waiting.append((message, future))
            elif future.succeeded():
                acked += 1
                self._suspects.discard(message)
            elif isinstance(future.exception, MessageSizeTooLargeError):
                self._size_refused(message, future.exception, alone, failed)
            else:
                failed.append(message)
        if failed:
            self.stats.add(PUBLISH_FAILURES, len(failed))
            log.warning(events.KAFKA_DELIVERY_FAILED, count=len(failed), error=str(self.in_flight[0][1].exception)[:200])
            self.pending = deque([*failed, *self.pending])  # sent again, in their order
        self.in_flight = waiting
        self.published += acked
        self.stats.add(PUBLISHED, acked)
        return acked

    def _send(self, message: PriceMessage):
        try:
            return self._producer.send(self.config.kafka.topic, key=message.symbol.encode(),
                                       value=message.to_json())
        except MessageSizeTooLargeError as exc:
            self._refuse_too_large(self.pending.popleft(), exc, by=f"max_request_size ({MAX_REQUEST_BYTES} bytes)")
            return TOO_LARGE
        except KafkaError as exc:
            self.stats.add(PUBLISH_FAILURES)
            log.warning(events.KAFKA_SEND_FAILED, error=str(exc))
            return None

    def _size_refused(self, message: PriceMessage, exc: KafkaError, alone: bool, failed: list) -> None:
        """The broker refused a batch as too large; kafka-python then fails every batch of the
        idempotent producer, so it is replaced, and the message is dropped only if it was alone."""
        if self._producer is not None:
            self._producer.close(timeout=0)
            self._producer = None
        if alone and message in self._suspects:
            self._suspects.discard(message)
            self._refuse_too_large(message, exc, by=f"the topic's max.message.bytes ({self.config.kafka.topic})")
        else:
            self._suspects.add(message)
            failed.append(message)

    def _refuse_too_large(self, message: PriceMessage, exc: KafkaError, by: str) -> None:
        """Kafka will never take this message, whatever the retries: it is dropped and counted,
        not retried forever at the head of the queue (which would stop every later price)."""
        self.dropped += 1
        metrics.DROPPED.inc()
        self.stats.add(DROPPED)
        log.error(events.MESSAGE_TOO_LARGE, symbol=message.symbol, event_time=message.event_time,
                  size_bytes=len(message.to_json()), refused_by=by, error=type(exc).__name__,
                  topic=self.config.kafka.topic, dropped_total=self.dropped)

    def _connect(self) -> bool:
        if self._producer is not None and self._topic_ready:
            return True
        try:
            if not self._topic_ready:
                if topic.ensure_topic(self.config):
                    log.info(events.TOPIC_CREATED, topic=self.config.kafka.topic,
                             partitions=self.config.kafka.partitions)
                self._topic_ready = True
            if self._producer is None:
                self._producer = self._new_producer()
            return True
        except KafkaError as exc:
            log.warning(events.KAFKA_UNREACHABLE, error=type(exc).__name__,
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
            enable_idempotence=True,  # the client's own retries cannot duplicate
            linger_ms=settings.linger_ms,
            compression_type=settings.compression if settings.compression != "none" else None,
            # while the broker is away a send gives up fast, so polling keeps its pace
            max_block_ms=1_000,
            request_timeout_ms=10_000,
            max_request_size=MAX_REQUEST_BYTES,
        )

    def close(self, timeout: float = 10.0) -> None:
        self.drain(timeout)
        if self._producer is not None:
            self._producer.close(timeout=timeout)
        if self.backlog:
            log.error(events.UNSENT_AT_EXIT, pending=self.backlog)
