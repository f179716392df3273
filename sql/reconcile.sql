-- Statements of bin/reconcile (cryptostream/ops/reconcile.py), by name.

-- name: windows
SELECT symbol, start_time, end_time, average_price, min_price, max_price, open_price, close_price,
       sample_count, price_sum, volume, notional, vwap
FROM moving_averages;

-- name: rejects
SELECT kafka_partition, kafka_offset, reason FROM rejected_messages WHERE topic = %s;
