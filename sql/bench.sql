-- Statements of bin/bench (cryptostream/bench/measure.py), by name.

-- name: updated_rows
-- Row updates since a time: each one's latency is updated_at minus the newest ingest time counted.
SELECT TIMESTAMPDIFF(MICROSECOND, newest_ingest_time, updated_at), updated_at
FROM moving_averages WHERE updated_at > %s;

-- name: message_latency
-- The latency buckets of the micro-batches a processor committed in a time range (UTC).
SELECT buckets FROM message_latency WHERE query_name = %s AND committed_at >= %s AND committed_at < %s;
