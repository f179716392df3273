-- Statements of the processor's MySQL sink (cryptostream/pipeline/processor/sink.py), by name.

-- name: lock_progress
SELECT batch_id, watermark_ms FROM stream_progress WHERE query_name = %s FOR UPDATE;

-- name: read_progress
SELECT batch_id, watermark_ms, offsets FROM stream_progress WHERE query_name = %s;

-- name: save_progress
INSERT INTO stream_progress (query_name, batch_id, watermark_ms, offsets, updated_at)
VALUES (%s, %s, %s, %s, UTC_TIMESTAMP(3))
ON DUPLICATE KEY UPDATE batch_id = %s, watermark_ms = %s, offsets = %s, updated_at = UTC_TIMESTAMP(3);

-- name: lock_windows
-- {keys} expands to one (%s, %s) pair per window of the batch.
SELECT symbol, start_time, price_sum, sample_count, min_price, max_price, open_price, close_price,
       first_event_time, last_event_time, newest_ingest_time, volume, notional
FROM moving_averages WHERE (symbol, start_time) IN ({keys}) FOR UPDATE;

-- name: insert_window
INSERT INTO moving_averages (symbol, start_time, end_time, average_price, min_price, max_price,
    open_price, close_price, sample_count, price_sum, first_event_time, last_event_time,
    newest_ingest_time, volume, notional, vwap, created_at, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3));

-- name: update_window
UPDATE moving_averages SET average_price = %s, min_price = %s, max_price = %s, open_price = %s,
    close_price = %s, sample_count = %s, price_sum = %s, first_event_time = %s, last_event_time = %s,
    newest_ingest_time = %s, volume = %s, notional = %s, vwap = %s, updated_at = UTC_TIMESTAMP(3)
WHERE symbol = %s AND start_time = %s;

-- name: insert_rejected
-- executemany sends one multi-row INSERT per call: the sink calls it per bounded chunk.
INSERT IGNORE INTO rejected_messages (topic, kafka_partition, kafka_offset, kafka_timestamp,
    message_key, raw_value, raw_length, raw_sha256, reason, rejected_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, UTC_TIMESTAMP(3));

-- name: ping
SELECT 1;

-- name: counted_overlapping
-- What earlier batches counted where their ranges overlap this batch's: event times in the same
-- window; trade ids in any open window of the symbol (a trade's copy is that trade, whatever
-- time it says). Also a window's key lists kept from before ranges replaced them.
-- {more} expands to one "UNION ALL SELECT %s, %s, %s, %s, %s, %s" per window after the first.
SELECT DISTINCT c.symbol, c.window_start, c.batch_id, c.offsets, c.key_list
FROM counted_ranges AS c
JOIN (SELECT %s AS symbol, %s AS window_start, %s AS first_time_ms, %s AS last_time_ms,
             %s AS first_trade_id, %s AS last_trade_id {more}) AS b
  ON c.symbol = b.symbol
 AND ((c.window_start = b.window_start
       AND (c.key_list IS NOT NULL OR (c.first_time_ms <= b.last_time_ms AND c.last_time_ms >= b.first_time_ms)))
      OR (c.first_trade_id <= b.last_trade_id AND c.last_trade_id >= b.first_trade_id));

-- name: insert_counted
INSERT INTO counted_ranges (symbol, window_start, batch_id, first_time_ms, last_time_ms, first_trade_id,
                            last_trade_id, offsets)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s);

-- name: purge_counted
-- windows ending at or before the watermark: window_start <= watermark - window length
DELETE FROM counted_ranges WHERE window_start <= %s;

-- name: insert_latency
-- A batch id already there is an earlier application of that id whose progress row is gone
-- (tables emptied for a rebuild, a fresh checkpoint): this one replaces it. A replay of an
-- applied batch never gets here (lock_progress).
INSERT INTO message_latency (query_name, batch_id, committed_at, messages, buckets, max_ms, trades, trade_buckets,
    trade_max_ms)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON DUPLICATE KEY UPDATE committed_at = VALUES(committed_at), messages = VALUES(messages), buckets = VALUES(buckets),
    max_ms = VALUES(max_ms), trades = VALUES(trades), trade_buckets = VALUES(trade_buckets),
    trade_max_ms = VALUES(trade_max_ms);

-- name: prune_latency
-- %s: the oldest commit time kept; %s: at most this many rows per call
DELETE FROM message_latency WHERE committed_at < %s LIMIT %s;
