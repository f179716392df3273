-- Columns added after a table was first created: bin/up adds each one that is missing
-- (cryptostream/ops/stack/provisioning.py), since CREATE TABLE IF NOT EXISTS leaves old tables as they are.
-- A table added later (pipeline_stats) needs nothing here: bin/up applies schema.sql, whose
-- CREATE TABLE IF NOT EXISTS makes it on an existing database, then app_user.sql's grants.
-- Statement names are <table>.<column>: each runs when that column is missing.
-- A table retired runs its steps, named <table>.<column>/<step>, in order while that column exists.

-- name: moving_averages.volume
ALTER TABLE moving_averages ADD COLUMN volume DECIMAL(38,8) NULL AFTER newest_ingest_time;

-- name: moving_averages.notional
ALTER TABLE moving_averages ADD COLUMN notional DECIMAL(38,16) NULL AFTER volume;

-- name: moving_averages.vwap
ALTER TABLE moving_averages ADD COLUMN vwap DECIMAL(32,12) NULL AFTER notional;

-- name: rejected_messages.raw_length
ALTER TABLE rejected_messages ADD COLUMN raw_length BIGINT NULL AFTER raw_value;

-- name: rejected_messages.raw_sha256
ALTER TABLE rejected_messages ADD COLUMN raw_sha256 CHAR(64) NULL AFTER raw_length;

-- name: counted_keys.key_list/copy
-- Before 2026-12 the processor kept every counted price's dedup key (counted_keys); the rows of
-- windows still open carry on in counted_ranges with their key lists until those windows close.
INSERT INTO counted_ranges (symbol, window_start, batch_id, key_list)
SELECT symbol, window_start, batch_id, key_list FROM counted_keys;

-- name: counted_keys.key_list/drop
DROP TABLE counted_keys;

-- name: existing_columns
SELECT CONCAT(table_name, '.', column_name) FROM information_schema.columns WHERE table_schema = %s;
