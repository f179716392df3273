-- The dashboard's read-only account, applied by bin/up on the private instance (run by an
-- administrator on an external server): it can read the window rows and nothing else.
-- {database} is a validated identifier; the rest are bound.
CREATE USER IF NOT EXISTS %(user)s@'127.0.0.1' IDENTIFIED BY %(password)s;
CREATE USER IF NOT EXISTS %(user)s@'localhost' IDENTIFIED BY %(password)s;
ALTER USER %(user)s@'127.0.0.1' IDENTIFIED BY %(password)s;
ALTER USER %(user)s@'localhost' IDENTIFIED BY %(password)s;
GRANT SELECT ON `{database}`.`moving_averages` TO %(user)s@'127.0.0.1';
GRANT SELECT ON `{database}`.`moving_averages` TO %(user)s@'localhost';
