"""The names of the JSON log events: the programs emit them and the operator checks read them,
so renaming one breaks a test (tests/unit/core/test_events.py) instead of silently blinding a check."""
from __future__ import annotations

# --- producer: REST poller and trade stream ---
STARTED = "started"
STOPPED = "stopped"
CONFIG_ERROR = "config_error"
POLL = "poll"  # one per poll: prices, latency, backlog
POLL_FAILED = "poll_failed"  # the same line when the exchange refused or failed the request
INVALID_PRICE = "invalid_price"
STREAM = "stream"  # the trade stream's periodic summary
INVALID_TRADE = "invalid_trade"
WS_CONNECTED = "ws_connected"
WS_RENEWED = "ws_renewed"  # the connection replaced before the exchange's 24 h cut-off
WS_DISCONNECTED = "ws_disconnected"
WS_CONNECT_FAILED = "ws_connect_failed"
BACKFILL = "backfill"  # trades missed while disconnected, fetched over REST
BACKFILL_INCOMPLETE = "backfill_incomplete"
RESUME_POINT_UNKNOWN = "resume_point_unknown"

CLOCK_OFFSET = "clock_offset"  # our clock against the exchange's (REST source)
CLOCK_CHECK_FAILED = "clock_check_failed"

# --- producer: the exchange's symbol list ---
SYMBOL_CHECK = "symbol_check"
SYMBOL_CHECK_DEFERRED = "symbol_check_deferred"
SYMBOL_CHECK_FAILED = "symbol_check_failed"
SYMBOL_CHECK_RATE_LIMITED = "symbol_check_rate_limited"
SYMBOL_INCLUDED = "symbol_included"
SYMBOL_EXCLUDED = "symbol_excluded"

# --- producer: Kafka ---
TOPIC_CREATED = "topic_created"
KAFKA_UNREACHABLE = "kafka_unreachable"
KAFKA_SEND_FAILED = "kafka_send_failed"
KAFKA_DELIVERY_FAILED = "kafka_delivery_failed"  # the broker did not acknowledge; sent again
MESSAGE_TOO_LARGE = "message_too_large"
BUFFER_OVERFLOW = "buffer_overflow"  # a price dropped: the buffer was full
UNSENT_AT_EXIT = "unsent_at_exit"

# --- processor ---
CANNOT_START = "cannot_start"
QUERY_STARTED = "query_started"
BATCH = "batch"  # one per micro-batch: rows, duration
BATCH_ALREADY_APPLIED = "batch_already_applied"
BATCH_COMPUTE_FAILED = "batch_compute_failed"
BATCH_WRITE_REFUSED = "batch_write_refused"
BATCH_QUARANTINED = "batch_quarantined"
MYSQL_RETRY = "mysql_retry"
QUERY_FAILED = "query_failed"
QUERY_TERMINATED = "query_terminated"
STOPPING = "stopping"
QUERY_STOPPED = "query_stopped"
JVM_ALREADY_STOPPED = "jvm_already_stopped"

# --- both: the per-minute statistics in MySQL (pipeline_stats) ---
STATS_WRITE_FAILED = "stats_write_failed"  # figures kept in memory, written at the next attempt
STATS_DROPPED = "stats_dropped"  # a minute of figures dropped unwritten (held past stats.max_unwritten)
STATS_PRUNED = "stats_pruned"  # minutes past stats.retention deleted

# --- simulated exchange ---
LISTENING = "listening"
WS_PORT_UNAVAILABLE = "ws_port_unavailable"

# --- what the checks look for ---
# Losing the connection to a service the pipeline needs (weekly log review, runbook 4.1).
CONNECTION_FAILURES = frozenset({KAFKA_UNREACHABLE, KAFKA_SEND_FAILED, KAFKA_DELIVERY_FAILED, MYSQL_RETRY,
                                 WS_CONNECT_FAILED})
# The processor failing to write its results to MySQL (check-alerts).
WRITE_FAILURES = frozenset({MYSQL_RETRY, QUERY_FAILED, QUERY_TERMINATED})

# Every failure's level: `warning` when it is transient and retried, `error` when the program gave
# up or data is at risk, so a log review or an alert filtering on level sees each one
# (tests/unit/core/test_events.py checks every logging call against this table).
FAILURE_LEVELS = {
    POLL_FAILED: "warning", CLOCK_CHECK_FAILED: "warning", WS_CONNECT_FAILED: "warning", WS_DISCONNECTED: "warning",
    SYMBOL_CHECK_FAILED: "warning", SYMBOL_CHECK_RATE_LIMITED: "warning", RESUME_POINT_UNKNOWN: "warning",
    KAFKA_UNREACHABLE: "warning", KAFKA_SEND_FAILED: "warning", KAFKA_DELIVERY_FAILED: "warning",
    MYSQL_RETRY: "warning", STATS_WRITE_FAILED: "warning", INVALID_PRICE: "warning", INVALID_TRADE: "warning",
    BACKFILL_INCOMPLETE: "error", BUFFER_OVERFLOW: "error", MESSAGE_TOO_LARGE: "error", UNSENT_AT_EXIT: "error",
    STATS_DROPPED: "error", BATCH_COMPUTE_FAILED: "error", BATCH_WRITE_REFUSED: "error", BATCH_QUARANTINED: "error",
    QUERY_FAILED: "error", QUERY_TERMINATED: "error", CANNOT_START: "error", CONFIG_ERROR: "error",
}
