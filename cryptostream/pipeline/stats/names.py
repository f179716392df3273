"""The names in pipeline_stats: programs and metrics. The producer and the processor write them,
the runbook checks and the monthly report read them, so both import them from here."""
from __future__ import annotations

from cryptostream.pipeline.stats.figure import MESSAGES, SECONDS

# ops/programs.py spells the same program names (tests/unit/ops/test_programs.py checks it)
PRODUCER, PROCESSOR = "producer", "processor"

# --- both programs ---
STARTS = "starts"  # one per process start: the restarts of a period
STATS_DROPPED = "stats_dropped_minutes"  # minutes of figures dropped unwritten while MySQL was away

# --- producer ---
API_LATENCY = "api_latency_s"  # one value per answered exchange request (ticker, or a backfill page)
API_ERRORS = "api_errors"  # requests that failed (network, 5xx, 4xx); requests = latencies + errors + limits
API_RATE_LIMITED = "api_rate_limited"  # 429/418 answers
CLOCK_OFFSET = "clock_offset_s"  # |our clock - the exchange's| at each measurement (REST source)
PUBLISHED = "published"  # messages acknowledged by Kafka
PUBLISH_FAILURES = "publish_failures"  # sends Kafka refused or did not acknowledge (sent again)
DROPPED = "dropped"  # messages dropped: the buffer was full, or one too large for Kafka
WS_PREFIX = "ws_"  # the trade stream's counters (stream_report.StreamCounters) as ws_<counter>

# --- processor ---
MESSAGES_PROCESSED = "messages"  # Kafka messages applied (in a window or rejected), exactly once
WINDOWS_WRITTEN = "windows_written"  # window rows inserted or updated
REJECTED_PREFIX = "rejected."  # rejected.<reason>: messages stored in rejected_messages
BATCH_DURATION = "batch_duration_s"  # micro-batches after each run's warm-up
WARM_UP_DURATION = "warm_up_batch_duration_s"  # the first WARM_UP_BATCHES of a run (JVM, connector start)
MYSQL_WRITE = "mysql_write_s"  # the MySQL transaction of each applied micro-batch
MYSQL_WRITE_FAILURES = "mysql_write_failures"  # attempts retried on transient MySQL errors
LAG = "lag_messages"  # Kafka offsets behind latest, at each micro-batch

WARM_UP_BATCHES = 3  # the first batches of a run include JVM and connector start-up

# The bucket edges of each measured metric; any other metric is a count.
EDGES = {API_LATENCY: SECONDS, CLOCK_OFFSET: SECONDS, BATCH_DURATION: SECONDS, WARM_UP_DURATION: SECONDS, MYSQL_WRITE: SECONDS,
         LAG: MESSAGES}


def rejected(reason: str) -> str:
    return f"{REJECTED_PREFIX}{reason}"


def stream_counter(name: str) -> str:
    """The metric of one of the trade stream's counters (received, disconnects, missed, ...)."""
    return f"{WS_PREFIX}{name}"
