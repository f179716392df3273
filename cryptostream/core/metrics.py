"""Prometheus metrics of the producer and the processor (runbook 7.1), served in text format
on 127.0.0.1 only. The same figures are in each program's JSON log lines."""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

# producer
EXCHANGE_REQUESTS = Counter("cryptostream_exchange_requests_total",
                            "Ticker requests to the exchange, by outcome (ok, error, rate_limited)", ["outcome"])
EXCHANGE_LATENCY = Histogram("cryptostream_exchange_latency_seconds", "Ticker request latency (API latency)",
                             buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
PUBLISHED = Counter("cryptostream_messages_published_total", "Messages acknowledged by Kafka")
INVALID_PRICES = Counter("cryptostream_invalid_prices_total", "Prices from the exchange not published, by reason",
                         ["reason"])
PENDING = Gauge("cryptostream_producer_pending_messages", "Messages waiting for Kafka in the producer's buffer")
DROPPED = Counter("cryptostream_producer_dropped_total", "Messages dropped because the buffer was full")
SYMBOL_EXCLUDED = Gauge("cryptostream_symbol_excluded",
                        "1 while a configured symbol is left out (unknown or not TRADING on the exchange)",
                        ["symbol"])
SYMBOL_EXCLUSIONS = Counter("cryptostream_symbol_exclusions_total",
                            "Times a configured symbol was left out, by the status the exchange gave",
                            ["symbol", "status"])

# processor
BATCHES = Counter("cryptostream_batches_total", "Micro-batches applied to MySQL")
BATCH_DURATION = Histogram("cryptostream_batch_duration_seconds", "Micro-batch duration (trigger execution)",
                           buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 120))
INPUT_ROWS = Counter("cryptostream_input_rows_total", "Kafka messages read by the processor")
WINDOWS_WRITTEN = Counter("cryptostream_windows_written_total", "Window rows inserted or updated in MySQL")
REJECTED = Counter("cryptostream_rejected_messages_total", "Messages stored in rejected_messages, by reason",
                   ["reason"])
MYSQL_WRITE = Histogram("cryptostream_mysql_write_seconds", "MySQL transaction time per micro-batch",
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5))
MYSQL_WRITE_FAILURES = Counter("cryptostream_mysql_write_failures_total", "Failed MySQL write attempts (retried)")
OFFSETS_BEHIND = Gauge("cryptostream_offsets_behind_latest", "Kafka messages behind the latest offsets (topic lag)")


def serve(port: int) -> None:
    """Serve /metrics on 127.0.0.1:port in a daemon thread; port 0 serves nothing."""
    if port:
        start_http_server(port, addr="127.0.0.1")
