-- The application's least-privilege account, applied by bin/up on the private instance (run by
-- an administrator on an external server). It reads and writes rows; it cannot change schema,
-- delete rows (except counted_ranges of closed windows and pipeline_stats and message_latency past their
-- retention)
-- or see other databases. {database} is a validated identifier; the rest are bound.
CREATE USER IF NOT EXISTS %(user)s@'127.0.0.1' IDENTIFIED BY %(password)s;
CREATE USER IF NOT EXISTS %(user)s@'localhost' IDENTIFIED BY %(password)s;
ALTER USER %(user)s@'127.0.0.1' IDENTIFIED BY %(password)s;
ALTER USER %(user)s@'localhost' IDENTIFIED BY %(password)s;
GRANT SELECT, INSERT, UPDATE ON `{database}`.* TO %(user)s@'127.0.0.1';
GRANT SELECT, INSERT, UPDATE ON `{database}`.* TO %(user)s@'localhost';
GRANT DELETE ON `{database}`.`counted_ranges` TO %(user)s@'127.0.0.1';
GRANT DELETE ON `{database}`.`counted_ranges` TO %(user)s@'localhost';
GRANT DELETE ON `{database}`.`pipeline_stats` TO %(user)s@'127.0.0.1';
GRANT DELETE ON `{database}`.`pipeline_stats` TO %(user)s@'localhost';
GRANT DELETE ON `{database}`.`message_latency` TO %(user)s@'127.0.0.1';
GRANT DELETE ON `{database}`.`message_latency` TO %(user)s@'localhost';
