-- cryptostream schema: applied idempotently by bin/up (and the tests). Portable to MySQL 8 and
-- MariaDB 10.6+. All times are UTC.

-- One row per (symbol, 1-minute event-time window); updated as its prices arrive.
CREATE TABLE IF NOT EXISTS moving_averages (
    id                 BIGINT AUTO_INCREMENT PRIMARY KEY,
    symbol             VARCHAR(20)    NOT NULL,
    start_time         DATETIME(3)    NOT NULL,
    end_time           DATETIME(3)    NOT NULL,
    average_price      DECIMAL(32,12) NOT NULL,
    min_price          DECIMAL(28,8)  NOT NULL,
    max_price          DECIMAL(28,8)  NOT NULL,
    open_price         DECIMAL(28,8)  NOT NULL,
    close_price        DECIMAL(28,8)  NOT NULL,
    sample_count       BIGINT         NOT NULL,
    -- exact sum of the prices: lets later micro-batches extend the average without rounding
    price_sum          DECIMAL(38,8)  NOT NULL,
    first_event_time   DATETIME(3)    NOT NULL,
    last_event_time    DATETIME(3)    NOT NULL,
    -- newest ingest_time among the prices counted: end-to-end latency = updated_at - this
    newest_ingest_time DATETIME(3)    NOT NULL,
    -- trades only (source websocket): sum of quantities, sum of price x quantity, and
    -- the volume-weighted average price; NULL for windows of price samples
    volume             DECIMAL(38,8)  NULL,
    notional           DECIMAL(38,16) NULL,
    vwap               DECIMAL(32,12) NULL,
    created_at         DATETIME(3)    NOT NULL,
    updated_at         DATETIME(3)    NOT NULL,
    UNIQUE KEY uq_moving_averages_window (symbol, start_time, end_time),
    KEY ix_moving_averages_start_time (start_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Messages the processor could not aggregate, with the reason; nothing is dropped silently.
-- What one costs is bounded whatever its size: the first 1 KiB of its value (256 bytes of its
-- key), with the value's full length and SHA-256, and its Kafka position to find it again.
-- raw_value and message_key are NULL when a batch could only be stored without them, and
-- reason "quarantined" marks every message of a batch that could not be stored at all
-- (cryptostream/pipeline/processor/job.py).
CREATE TABLE IF NOT EXISTS rejected_messages (
    id               BIGINT AUTO_INCREMENT PRIMARY KEY,
    topic            VARCHAR(249) NOT NULL,
    kafka_partition  INT          NOT NULL,
    kafka_offset     BIGINT       NOT NULL,
    kafka_timestamp  DATETIME(3)  NULL,
    message_key      BLOB         NULL,
    raw_value        LONGBLOB     NULL,
    raw_length       BIGINT       NULL,
    raw_sha256       CHAR(64)     NULL,
    reason           VARCHAR(64)  NOT NULL,
    rejected_at      DATETIME(3)  NOT NULL,
    UNIQUE KEY uq_rejected_messages_position (topic, kafka_partition, kafka_offset),
    KEY ix_rejected_messages_reason (reason)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The processor's last applied micro-batch, written in the same transaction as its rows, so a
-- replayed batch is recognised and skipped; also its event-time watermark and Kafka offsets.
CREATE TABLE IF NOT EXISTS stream_progress (
    query_name    VARCHAR(64) PRIMARY KEY,
    batch_id      BIGINT      NOT NULL,
    watermark_ms  BIGINT      NOT NULL,
    -- JSON: {"<topic>": {"<partition>": next offset to read}}
    offsets       TEXT        NOT NULL,
    updated_at    DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- What each micro-batch counted in each window the watermark has not closed yet, one row per
-- (symbol, window, micro-batch): the ranges of the counted prices' dedup keys (schema.dedup_key)
-- and their Kafka offsets, so a repeated delivery is recognised instead of being counted twice
-- (cryptostream/pipeline/processor/counted_ranges.py). A later batch whose ranges overlap a row's
-- reads that row's messages back from Kafka for their keys. Rows of closed windows are deleted:
-- a later copy of their prices is rejected as late anyway.
CREATE TABLE IF NOT EXISTS counted_ranges (
    symbol          VARCHAR(20) NOT NULL,
    window_start    DATETIME(3) NOT NULL,
    batch_id        BIGINT      NOT NULL,
    -- event times of the prices keyed by time (no trade id); NULL when there were none
    first_time_ms   BIGINT      NULL,
    last_time_ms    BIGINT      NULL,
    -- trade ids of the trades; NULL when there were none
    first_trade_id  BIGINT      NULL,
    last_trade_id   BIGINT      NULL,
    -- JSON: {"<topic>": {"<partition>": [first offset, last offset]}} of the counted prices
    offsets         TEXT        NULL,
    -- only on rows carried over from counted_keys (before 2026-12, every key was kept):
    -- zlib-compressed, comma-separated keys
    key_list        LONGBLOB    NULL,
    PRIMARY KEY (symbol, window_start, batch_id),
    KEY ix_counted_ranges_window_start (window_start)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Per-minute statistics of the producer and the processor, for the runbook's monthly review
-- (section 5), which needs 30 days: more than the rotated logs hold. One row per (minute,
-- program, run, metric): a program writes its run's figures of a minute whole, replacing the
-- row, so a repeated or replayed write cannot count twice, and a restart mid-minute writes
-- rows of its own run (the readers sum the runs). Counts, sums, minima and maxima are exact
-- over any range; percentiles come from the bucket counts, which merge across minutes
-- (cryptostream/pipeline/stats/figure.py). The processor deletes rows past stats.retention.
CREATE TABLE IF NOT EXISTS pipeline_stats (
    minute      DATETIME       NOT NULL,
    program     VARCHAR(32)    NOT NULL,
    -- random id of the process run that wrote the row
    run_id      BIGINT         NOT NULL,
    metric      VARCHAR(64)    NOT NULL,
    -- events counted, or values measured
    samples     BIGINT         NOT NULL,
    -- sum of the values (a count's sum is the count); seconds or messages, exact to 1e-6
    total       DECIMAL(30,6)  NOT NULL,
    min_value   DECIMAL(24,6)  NULL,
    max_value   DECIMAL(24,6)  NULL,
    -- measured values per bucket, "<upper edge>:<count>,...", e.g. "0.25:40,0.3:18,inf:1",
    -- a bucket holds the values above the edge before it, up to its own; NULL for counts
    buckets     VARCHAR(2000)  NULL,
    updated_at  DATETIME(3)    NOT NULL,
    PRIMARY KEY (minute, program, run_id, metric),
    KEY ix_pipeline_stats_metric (metric, minute)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Per-message latency of each applied micro-batch (cryptostream/pipeline/processor/latency.py):
-- for every message it counted, its ingest_time (and a trade's event time) to committed_at,
-- taken just before the COMMIT of the transaction that writes this row with the batch's rows
-- (so a replayed batch adds none; the COMMIT itself, a few ms, is not included). bin/bench
-- merges the buckets of the batches of a period for per-message percentiles. The processor
-- deletes rows older than stats.latency_retention.
CREATE TABLE IF NOT EXISTS message_latency (
    query_name     VARCHAR(64)  NOT NULL,
    batch_id       BIGINT       NOT NULL,
    committed_at   DATETIME(3)  NOT NULL,
    -- messages counted in windows (rejects are not)
    messages       BIGINT       NOT NULL,
    -- "<upper edge ms>:<messages>,...": each message's latency rounded up by less than 10 ms
    -- (below 10 s; then by less than a tenth of its decade)
    buckets        TEXT         NOT NULL,
    max_ms         BIGINT       NOT NULL,
    -- the same from the exchange's event time, for trades (source websocket); else 0 / NULL
    trades         BIGINT       NOT NULL,
    trade_buckets  TEXT         NULL,
    trade_max_ms   BIGINT       NULL,
    PRIMARY KEY (query_name, batch_id),
    KEY ix_message_latency_committed_at (committed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
