"""Prometheus metrics of the producer and the processor (runbook 7.1), served in text format
on 127.0.0.1 only. The same figures are in each program's JSON log lines.

Each program has a registry of its own, so its endpoint shows only what that program measures:
a processor figure at 0 on the producer's endpoint would read as "no batches" on a dashboard."""
from __future__ import annotations

from prometheus_client import (CollectorRegistry, Counter, Gauge, Histogram, PlatformCollector,
                               ProcessCollector, start_http_server)


def _registry() -> CollectorRegistry:
    """A program's registry, with that program's process figures (CPU, memory, open files)."""
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


PRODUCER_REGISTRY = _registry()
PROCESSOR_REGISTRY = _registry()
_PRODUCER = {"registry": PRODUCER_REGISTRY}
_PROCESSOR = {"registry": PROCESSOR_REGISTRY}

# producer
EXCHANGE_REQUESTS = Counter("cryptostream_exchange_requests_total",
                            "Ticker requests to the exchange, by outcome (ok, error, rate_limited)", ["outcome"],
                            **_PRODUCER)
EXCHANGE_LATENCY = Histogram("cryptostream_exchange_latency_seconds", "Ticker request latency (API latency)",
                             buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), **_PRODUCER)
CLOCK_OFFSET = Gauge("cryptostream_exchange_clock_offset_seconds",
                     "The exchange's clock minus ours, at the last measurement (GET /api/v3/time)", **_PRODUCER)
PUBLISHED = Counter("cryptostream_messages_published_total", "Messages acknowledged by Kafka", **_PRODUCER)
LAST_PUBLISH = Gauge("cryptostream_last_publish_timestamp_seconds",
                     "Unix time at which Kafka last acknowledged a message of the producer", **_PRODUCER)
TRADES_MISSED = Counter("cryptostream_trades_missed_total",
                        "Trade ids the backfill could not fetch (backfill_incomplete): lost upstream of Kafka",
                        **_PRODUCER)
INVALID_PRICES = Counter("cryptostream_invalid_prices_total", "Prices from the exchange not published, by reason",
                         ["reason"], **_PRODUCER)
PENDING = Gauge("cryptostream_producer_pending_messages", "Messages waiting for Kafka in the producer's buffer",
                **_PRODUCER)
DROPPED = Counter("cryptostream_producer_dropped_total", "Messages dropped because the buffer was full",
                  **_PRODUCER)
SYMBOL_EXCLUDED = Gauge("cryptostream_symbol_excluded",
                        "1 while a configured symbol is left out (unknown or not TRADING on the exchange)",
                        ["symbol"], **_PRODUCER)
SYMBOL_EXCLUSIONS = Counter("cryptostream_symbol_exclusions_total",
                            "Times a configured symbol was left out, by the status the exchange gave",
                            ["symbol", "status"], **_PRODUCER)

# processor
BATCHES = Counter("cryptostream_batches_total", "Micro-batches applied to MySQL", **_PROCESSOR)
LAST_BATCH = Gauge("cryptostream_last_batch_timestamp_seconds",
                   "Unix time at which the processor last committed a micro-batch", **_PROCESSOR)
BATCH_DURATION = Histogram("cryptostream_batch_duration_seconds", "Micro-batch duration (trigger execution)",
                           buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 120), **_PROCESSOR)
INPUT_ROWS = Counter("cryptostream_input_rows_total", "Kafka messages read by the processor", **_PROCESSOR)
WINDOWS_WRITTEN = Counter("cryptostream_windows_written_total", "Window rows inserted or updated in MySQL",
                          **_PROCESSOR)
REJECTED = Counter("cryptostream_rejected_messages_total", "Messages stored in rejected_messages, by reason",
                   ["reason"], **_PROCESSOR)
MYSQL_WRITE = Histogram("cryptostream_mysql_write_seconds", "MySQL transaction time per micro-batch",
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5), **_PROCESSOR)
MYSQL_WRITE_FAILURES = Counter("cryptostream_mysql_write_failures_total", "Failed MySQL write attempts (retried)",
                               **_PROCESSOR)
OFFSETS_BEHIND = Gauge("cryptostream_offsets_behind_latest", "Kafka messages behind the latest offsets (topic lag)",
                       **_PROCESSOR)
PARTITION_LAG = Gauge("cryptostream_partition_lag_messages",
                      "Kafka messages behind the latest offset, per partition, after the last micro-batch",
                      ["partition"], **_PROCESSOR)
WATERMARK = Gauge("cryptostream_watermark_timestamp_seconds",
                  "The event-time watermark (Unix time): windows ending before it are final", **_PROCESSOR)


def serve(port: int, registry: CollectorRegistry) -> None:
    """Serve one program's /metrics on 127.0.0.1:port in a daemon thread; port 0 serves nothing."""
    if port:
        start_http_server(port, addr="127.0.0.1", registry=registry)


def published(acked: int, pending: int) -> None:
    """After the producer's buffer was drained: `acked` messages confirmed, `pending` still waiting."""
    PUBLISHED.inc(acked)
    PENDING.set(pending)
    if acked:
        LAST_PUBLISH.set_to_current_time()
