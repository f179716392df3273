"""Prometheus metrics of the producer and the processor (runbook 7.1), served in text format
on 127.0.0.1 only. The same figures are in each program's JSON log lines.

Each program has a registry of its own, so its endpoint shows only what that program measures:
a processor figure at 0 on the producer's endpoint would read as "no batches" on a dashboard."""
from __future__ import annotations

import bisect
import errno
import threading
from typing import Iterator, Mapping

from prometheus_client import (CollectorRegistry, Counter, Gauge, Histogram, PlatformCollector,
                               ProcessCollector, start_http_server)
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from cryptostream.core.config import env_name


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


class BucketedHistogram:
    """A histogram fed counts per value at once: observe() once per message would cost seconds
    for a batch of 500,000. add() takes {value: how many}; a value goes in the first bucket whose
    bound is at least the value, and adds value x count to the sum."""

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...], label: str,
                 registry: CollectorRegistry) -> None:
        self.name, self.documentation, self.label = name, documentation, label
        self.bounds = sorted(float(bound) for bound in buckets)
        self._series: dict[str, tuple[list[int], list[float]]] = {}  # label value: (counts per bucket and +Inf, [sum])
        self._lock = threading.Lock()
        registry.register(self)

    def add(self, label_value: str, counts: Mapping[float, int]) -> None:
        with self._lock:
            per_bucket, total = self._series.setdefault(label_value, ([0] * (len(self.bounds) + 1), [0.0]))
            for value, count in counts.items():
                per_bucket[bisect.bisect_left(self.bounds, value)] += count
                total[0] += value * count

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=[self.label])
        with self._lock:
            for label_value, (per_bucket, total) in sorted(self._series.items()):
                cumulative, buckets = 0, []
                for bound, count in zip([*map(floatToGoString, self.bounds), "+Inf"], per_bucket):
                    cumulative += count
                    buckets.append((bound, cumulative))
                family.add_metric([label_value], buckets, total[0])
        yield family

    def describe(self) -> list[HistogramMetricFamily]:
        return [HistogramMetricFamily(self.name, self.documentation, labels=[self.label])]

MESSAGE_LATENCY = BucketedHistogram(
    "cryptostream_message_latency_seconds",
    "Per message counted: seconds from its ingest_time (since=ingest) or a trade's exchange event time "
    "(since=trade_event) to the commit of the MySQL transaction that counted it, each rounded up to 10 ms",
    (0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300), "since", PROCESSOR_REGISTRY)


class PortInUse(Exception):
    """The metrics port is another program's: the program cannot start as configured."""


def serve(port: int, registry: CollectorRegistry, setting: str) -> None:
    """Serve one program's /metrics on 127.0.0.1:port in a daemon thread; port 0 serves nothing.
    `setting` is the configuration key of the port, named when it is taken."""
    if not port:
        return
    try:
        start_http_server(port, addr="127.0.0.1", registry=registry)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise PortInUse(f"metrics port 127.0.0.1:{port} is already in use by another program: stop it, or "
                        f"set {setting} ({env_name(setting)}) to a free port") from None


def published(acked: int, pending: int) -> None:
    """After the producer's buffer was drained: `acked` messages confirmed, `pending` still waiting."""
    PUBLISHED.inc(acked)
    PENDING.set(pending)
    if acked:
        LAST_PUBLISH.set_to_current_time()
