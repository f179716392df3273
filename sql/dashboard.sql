-- The dashboard's reads (cryptostream/dashboard), as its SELECT-only account. Each is bounded
-- by the time range the page asked for, through ix_moving_averages_start_time.

-- name: windows_since
-- every window starting in the range, oldest first; a cap keeps a wide range from reading a table
SELECT symbol, start_time, end_time, open_price, max_price, min_price, close_price, average_price,
       sample_count, volume, vwap, updated_at
FROM moving_averages WHERE start_time >= %s ORDER BY start_time, symbol LIMIT %s;

-- name: windows_updated
-- the windows of the range written since the page's last read: the live update
SELECT symbol, start_time, end_time, open_price, max_price, min_price, close_price, average_price,
       sample_count, volume, vwap, updated_at
FROM moving_averages WHERE start_time >= %s AND updated_at > %s ORDER BY start_time, symbol LIMIT %s;
