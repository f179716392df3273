-- Statements of the per-minute statistics (cryptostream/pipeline/stats/), by name. All times UTC.

-- name: upsert
-- A run's figures of a minute, whole: a second write of the same minute replaces the first.
-- VALUES(column): MySQL 8.4 deprecates it in favour of row aliases, which MariaDB lacks.
INSERT INTO pipeline_stats (minute, program, run_id, metric, samples, total, min_value, max_value, buckets,
    updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, UTC_TIMESTAMP(3))
ON DUPLICATE KEY UPDATE samples = VALUES(samples), total = VALUES(total), min_value = VALUES(min_value),
    max_value = VALUES(max_value), buckets = VALUES(buckets), updated_at = VALUES(updated_at);

-- name: prune
-- %s: the oldest minute kept; %s: at most this many rows per call (each call is short)
DELETE FROM pipeline_stats WHERE minute < %s LIMIT %s;
