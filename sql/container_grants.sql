-- Run at the first start of the mysql container, after schema.sql. The official image's
-- MYSQL_USER gets ALL on MYSQL_DATABASE; the application needs only to read and write rows.
-- (The names are docker/compose.yml's defaults for MYSQL_DATABASE and MYSQL_USER.)
REVOKE ALL PRIVILEGES ON `crypto_streaming`.* FROM 'cryptostream'@'%';
GRANT SELECT, INSERT, UPDATE ON `crypto_streaming`.* TO 'cryptostream'@'%';
GRANT DELETE ON `crypto_streaming`.`counted_ranges` TO 'cryptostream'@'%';
-- the processor deletes statistics past stats.retention, latency records past stats.latency_retention
GRANT DELETE ON `crypto_streaming`.`pipeline_stats` TO 'cryptostream'@'%';
GRANT DELETE ON `crypto_streaming`.`message_latency` TO 'cryptostream'@'%';
