-- Statements of the runbook checks and reports (cryptostream/ops/health/), by name. All times UTC.

-- name: row_count
SELECT COUNT(*) FROM moving_averages;

-- name: latest_rows
SELECT symbol, start_time, end_time, average_price, sample_count, updated_at
FROM moving_averages ORDER BY start_time DESC, symbol LIMIT 10;

-- name: last_write
SELECT TIMESTAMPDIFF(SECOND, MAX(updated_at), UTC_TIMESTAMP()) FROM moving_averages;

-- name: duplicate_windows
SELECT symbol, start_time, end_time, COUNT(*) AS copies
FROM moving_averages GROUP BY symbol, start_time, end_time HAVING COUNT(*) > 1 LIMIT 20;

-- name: corrupted_rows
-- %s: the window length in seconds (windows must start on its multiples, epoch-aligned, UTC).
SELECT symbol, start_time, end_time FROM moving_averages
WHERE average_price IS NULL OR average_price <= 0 OR min_price <= 0 OR sample_count <= 0
   OR end_time <= start_time OR MOD(UNIX_TIMESTAMP(start_time), %s) <> 0
   OR min_price > max_price OR average_price < min_price OR average_price > max_price
LIMIT 20;

-- name: future_rows
SELECT symbol, start_time, updated_at FROM moving_averages
WHERE start_time > UTC_TIMESTAMP() + INTERVAL 1 MINUTE OR updated_at > UTC_TIMESTAMP() + INTERVAL 1 MINUTE
LIMIT 20;

-- name: rejected_by_reason
-- %s: hours back
SELECT reason, COUNT(*) FROM rejected_messages
WHERE rejected_at > UTC_TIMESTAMP() - INTERVAL %s HOUR GROUP BY reason;

-- name: progress
-- the last column: seconds since the last micro-batch was applied
SELECT batch_id, watermark_ms, offsets, TIMESTAMPDIFF(MICROSECOND, updated_at, UTC_TIMESTAMP(6)) / 1000000
FROM stream_progress WHERE query_name = %s;

-- name: rows_per_day
-- %s, %s: the period's start (inclusive) and end (exclusive), UTC
SELECT DATE(start_time) AS day, COUNT(*) FROM moving_averages
WHERE start_time >= %s AND start_time < %s GROUP BY DATE(start_time) ORDER BY day;

-- name: end_to_end_latency
-- Seconds from the newest price a row includes entering Kafka to the row's last update.
-- %s, %s: the period's start (inclusive) and end (exclusive), UTC
SELECT TIMESTAMPDIFF(MICROSECOND, newest_ingest_time, updated_at) / 1000000 FROM moving_averages
WHERE updated_at >= %s AND updated_at < %s;

-- name: table_sizes
SELECT TABLE_NAME, TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME;

-- name: symbols_with_rows
SELECT DISTINCT symbol FROM moving_averages;

-- name: table_columns
SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s;

-- name: stats_range
-- The per-minute statistics of a time range (cryptostream/ops/health/probes/pipeline_stats.py).
-- %s, %s: the first minute and the minute after the last (UTC)
SELECT minute, program, metric, samples, total, min_value, max_value, buckets FROM pipeline_stats
WHERE minute >= %s AND minute < %s;

-- name: stats_range_of
-- The same for some metrics only; {metrics} expands to one %s per metric name.
SELECT minute, program, metric, samples, total, min_value, max_value, buckets FROM pipeline_stats
WHERE metric IN ({metrics}) AND minute >= %s AND minute < %s;
