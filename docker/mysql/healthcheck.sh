#!/bin/bash
# healthcheck.sh PORT: the MySQL container's health check, for our local image and the official
# mysql one alike. A query as the application user (MYSQL_USER) over TCP on 127.0.0.1, the way
# the app connects: healthy means the app can log in and read its table, not only that the
# server answers a ping. The password reaches the client in an option file on a pipe: never on
# a command line, never written to disk.
set -euo pipefail
port="${1:-3306}"
password="$(cat "${MYSQL_PASSWORD_FILE:-/run/secrets/mysql_password}")"
quoted="$(printf '%s' "$password" | sed 's/\\/\\\\/g; s/"/\\"/g')"
exec mysql --defaults-extra-file=<(printf '[client]\nuser="%s"\npassword="%s"\n' "$MYSQL_USER" "$quoted") \
  --protocol=tcp --host=127.0.0.1 --port="$port" --connect-timeout=5 --batch --skip-column-names \
  --execute="SELECT COUNT(*) >= 0 FROM moving_averages LIMIT 1" "$MYSQL_DATABASE" >/dev/null
