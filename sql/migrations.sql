-- Columns added after a table was first created: bin/up adds each one that is missing
-- (cryptostream/ops/stack/provisioning.py), since CREATE TABLE IF NOT EXISTS leaves old tables as they are.
-- A table added later (pipeline_stats) needs nothing here: bin/up applies schema.sql, whose
-- CREATE TABLE IF NOT EXISTS makes it on an existing database, then app_user.sql's grants.
-- Statement names are <table>.<column>.

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

-- name: existing_columns
SELECT CONCAT(table_name, '.', column_name) FROM information_schema.columns WHERE table_schema = %s;
