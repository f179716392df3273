-- Statements of the Real-time Mode experiment (cryptostream/bench/realtime.py), by name.
-- Its own tables, on the experiment's private MariaDB only; never part of the schema.

-- name: create_applied
CREATE TABLE IF NOT EXISTS rt_experiment_applied (
    topic VARCHAR(249) NOT NULL, kafka_partition INT NOT NULL, kafka_offset BIGINT NOT NULL,
    reason VARCHAR(32), ingest_ms BIGINT, committed_ms BIGINT NOT NULL, epoch BIGINT NOT NULL,
    PRIMARY KEY (topic, kafka_partition, kafka_offset));

-- name: create_offsets
CREATE TABLE IF NOT EXISTS rt_experiment_offsets (
    topic VARCHAR(249) NOT NULL, kafka_partition INT NOT NULL, next_offset BIGINT NOT NULL,
    PRIMARY KEY (topic, kafka_partition));

-- name: seed_offset
INSERT INTO rt_experiment_offsets VALUES (%s, %s, 0);

-- name: lock_offset
SELECT next_offset FROM rt_experiment_offsets WHERE topic = %s AND kafka_partition = %s FOR UPDATE;

-- name: insert_applied
INSERT INTO rt_experiment_applied VALUES (%s, %s, %s, %s, %s, %s, %s);

-- name: save_offset
UPDATE rt_experiment_offsets SET next_offset = %s WHERE topic = %s AND kafka_partition = %s;

-- name: latencies
-- Per message: its transaction's commit time minus its ingest time, and the epoch that applied it.
SELECT committed_ms - ingest_ms, epoch FROM rt_experiment_applied WHERE topic = %s AND ingest_ms >= %s;
